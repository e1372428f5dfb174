package creds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"
	"github.com/sethvargo/go-githubactions"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/fakeoidc"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// The orchestrator passes the go-githubactions Action as Deps.OIDC.
var _ OIDC = (*githubactions.Action)(nil)

// TestResolveRejectsBadOptions checks the configuration errors raised before
// any call to AWS (the base config points nowhere: a call would fail differently).
func TestResolveRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"role-to-assume not an ARN", Options{Identity: config.Identity{RoleToAssume: "gate-hub"}}, `role-to-assume: "gate-hub" is not an IAM role ARN`},
		{"role-to-assume a user ARN", Options{Identity: config.Identity{RoleToAssume: "arn:aws:iam::123456789012:user/bob"}}, "is not an IAM role ARN"},
		{"session name with a space", Options{Identity: config.Identity{RoleSessionName: "kms gate"}}, `role-session-name: "kms gate" must be 2 to 64 characters`},
		{"session name too long", Options{Identity: config.Identity{RoleSessionName: strings.Repeat("a", 65)}}, "role-session-name"},
		{"duration too short", Options{Identity: config.Identity{RoleDurationSeconds: 899}}, "role-duration-seconds: 899 is out of range (900 to 43200)"},
		{"duration too long", Options{Identity: config.Identity{RoleDurationSeconds: 43201}}, "role-duration-seconds: 43201 is out of range"},
		{"account entry not an ID or ARN", Options{Identity: config.Identity{Accounts: []string{"12345"}, RoleName: "r"}}, `accounts: "12345" is neither a 12-digit account ID nor an IAM role ARN`},
		{"account IDs need role-name", Options{Identity: config.Identity{Accounts: []string{"222222222222"}}}, "accounts: account ID 222222222222 needs role-name"},
		{"organization needs role-name", Options{Identity: config.Identity{Organization: true}}, "organization: true needs role-name"},
		{"bad role-name", Options{Identity: config.Identity{Accounts: []string{"222222222222"}, RoleName: "bad name"}}, `role-name: "bad name" is not an IAM role name`},
		{"account ARN of an unknown partition", Options{Identity: config.Identity{Accounts: []string{"arn:aws-mars:iam::222222222222:role/r"}}}, `accounts: "arn:aws-mars:iam::222222222222:role/r" is not an IAM role ARN: unknown partition "aws-mars"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var masked []string
			_, _, err := Resolve(context.Background(), aws.Config{}, tt.opts, Deps{Mask: func(s string) { masked = append(masked, s) }})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
			}
			if len(masked) != 0 {
				t.Errorf("masked %v before rejecting the options", masked)
			}
		})
	}
}

func TestNormalizeDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Options
		want Options
	}{
		{
			name: "zero options",
			want: Options{Identity: config.Identity{Audience: DefaultAudience, RoleSessionName: DefaultRoleSessionName, RoleDurationSeconds: 3600}, Concurrency: DefaultConcurrency, AssumeRolesPerSecond: DefaultAssumeRolesPerSecond},
		},
		{
			name: "inputs trimmed, blank accounts dropped, role path kept",
			in: Options{Identity: config.Identity{
				RoleToAssume: " arn:aws:iam::123456789012:role/hub ", Audience: " aud ", RoleSessionName: "s1",
				RoleDurationSeconds: 900, Accounts: []string{" 222222222222 ", "", "arn:aws-us-gov:iam::333333333333:role/p/r"},
				RoleName: "/scan/gate/",
			}, Concurrency: 3},
			want: Options{Identity: config.Identity{
				RoleToAssume: "arn:aws:iam::123456789012:role/hub", Audience: "aud", RoleSessionName: "s1",
				RoleDurationSeconds: 900, Accounts: []string{"222222222222", "arn:aws-us-gov:iam::333333333333:role/p/r"},
				RoleName: "scan/gate",
			}, Concurrency: 3, AssumeRolesPerSecond: DefaultAssumeRolesPerSecond},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.in.normalize()
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("normalize() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// fakeListAccounts serves ListAccounts pages as the Organizations API does.
type fakeListAccounts struct {
	pages [][]types.Account
	calls int
	err   error
}

func (f *fakeListAccounts) ListAccounts(_ context.Context, in *organizations.ListAccountsInput, _ ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error) {
	f.calls++
	if aws.ToInt32(in.MaxResults) != listAccountsPageSize {
		return nil, fmt.Errorf("MaxResults = %d", aws.ToInt32(in.MaxResults))
	}
	if f.err != nil {
		return nil, f.err
	}
	i := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &i)
	}
	out := &organizations.ListAccountsOutput{Accounts: f.pages[i]}
	if i+1 < len(f.pages) {
		out.NextToken = aws.String(fmt.Sprint(i + 1))
	}
	return out, nil
}

func TestListActiveAccounts(t *testing.T) {
	t.Parallel()
	acct := func(id string, state types.AccountState, status types.AccountStatus) types.Account {
		return types.Account{Id: aws.String(id), State: state, Status: status}
	}
	tests := []struct {
		name      string
		pages     [][]types.Account
		err       error
		want      []string
		wantCalls int
		wantErr   string
	}{
		{
			name: "three pages, State preferred over the retiring Status",
			pages: [][]types.Account{
				{acct("333333333333", types.AccountStateActive, ""), acct("111111111111", types.AccountStateSuspended, types.AccountStatusActive)},
				{},
				{acct("222222222222", "", types.AccountStatusActive), acct("444444444444", "", types.AccountStatusSuspended), acct("555555555555", types.AccountStatePendingClosure, "")},
			},
			want:      []string{"222222222222", "333333333333"},
			wantCalls: 3,
		},
		{
			name:      "malformed IDs are skipped",
			pages:     [][]types.Account{{acct("12", types.AccountStateActive, ""), acct("../etc", types.AccountStateActive, "")}},
			wantCalls: 1,
		},
		{
			name:      "error",
			pages:     [][]types.Account{{}},
			err:       &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "nope"},
			wantCalls: 1,
			wantErr:   "AccessDeniedException",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeListAccounts{pages: tt.pages, err: tt.err}
			got, err := listActiveAccounts(context.Background(), f)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if f.calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", f.calls, tt.wantCalls)
			}
		})
	}
}

func TestRedactor(t *testing.T) {
	t.Parallel()
	r := &redactor{}
	r.add("ASIASECRETKEY123")
	r.add("abc") // too short to redact
	r.add("ASIASECRETKEY123-longer")
	tests := []struct {
		name, in, want string
	}{
		{"known secrets, longest first", "key ASIASECRETKEY123-longer and ASIASECRETKEY123 abc", "key *** and *** abc"},
		{"unregistered JWT", "bad token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvIn0.c2lnbmF0dXJl here", "bad token *** here"},
		{"upper-cased", "KEY ASIASECRETKEY123-LONGER", "KEY ***"},
		{"cut short", "token asiasecretke… refused", "token ***… refused"},
		{"control characters", "line1\nline2\r\x1b[31m", "line1 line2  [31m"},
		{"long", strings.Repeat("x", 700), strings.Repeat("x", maxMessageRunes) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := r.clean(tt.in); got != tt.want {
				t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDescribeErr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"API error inside wrapping", fmt.Errorf("refresh: %w", &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRole", Err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized"}}), "AccessDenied: not authorized"},
		{"plain error", errors.New("dial tcp 127.0.0.1:1: connection refused"), "dial tcp 127.0.0.1:1: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := describeErr(tt.err); got != tt.want {
				t.Errorf("describeErr = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestTokenRetrieverRefreshes checks that the first retrieval uses the token
// Resolve fetched, and each later one (a credentials refresh) fetches and
// masks a fresh token, even after Resolve's context is gone.
func TestTokenRetrieverRefreshes(t *testing.T) {
	t.Parallel()
	oidc := fakeoidc.Start(t, fakeoidc.Config{AllowedAudiences: []string{"sts.amazonaws.com"}})
	var masked []string
	ctx, cancel := context.WithCancel(context.Background())
	tr := &tokenRetriever{ctx: context.WithoutCancel(ctx), oidc: oidc.Action(&bytes.Buffer{}), audience: "sts.amazonaws.com", mask: func(s string) { masked = append(masked, s) }}
	first, err := tr.fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tr.primed = first
	cancel()
	var got []string
	for range 3 {
		b, err := tr.GetIdentityToken()
		if err != nil {
			t.Fatalf("GetIdentityToken: %v", err)
		}
		got = append(got, string(b))
	}
	issued := oidc.Issued()
	if !slices.Equal(got, issued) || len(issued) != 3 {
		t.Errorf("tokens used %d, issued %d: want the primed one then two fresh ones", len(got), len(issued))
	}
	if !slices.Equal(masked, issued) {
		t.Errorf("masked %d tokens, want each of the %d issued", len(masked), len(issued))
	}
}

// TestSessionParameters checks what reaches STS: the session name, the
// duration (capped at one hour for chained member roles), and the external ID
// on member roles only.
func TestSessionParameters(t *testing.T) {
	t.Parallel()
	srv := moto.Start(t)
	ctx := moto.Context(t)
	log := &eventLog{}
	proxy := startProxy(t, srv.URL, log)
	oidc := fakeoidc.Start(t, fakeoidc.Config{})
	action := oidc.Action(&bytes.Buffer{})
	_, scanErrs, err := Resolve(ctx, configAt(srv, proxy.URL), Options{Identity: config.Identity{
		RoleToAssume:        hubRole,
		RoleSessionName:     "gate-pr-42",
		RoleDurationSeconds: 7200,
		RoleExternalID:      "ext-1234",
		Accounts:            []string{"222222222222"},
		RoleName:            "path/gate-member",
	}}, Deps{OIDC: action, Mask: action.AddMask})
	if err != nil || len(scanErrs) != 0 {
		t.Fatalf("Resolve: %v %v", err, scanErrs)
	}
	want := map[string]url.Values{
		"AssumeRoleWithWebIdentity": {"RoleArn": {hubRole}, "RoleSessionName": {"gate-pr-42"}, "DurationSeconds": {"7200"}, "ExternalId": nil},
		"AssumeRole":                {"RoleArn": {"arn:aws:iam::222222222222:role/path/gate-member"}, "RoleSessionName": {"gate-pr-42"}, "DurationSeconds": {"3600"}, "ExternalId": {"ext-1234"}},
	}
	seen := map[string]bool{}
	for _, e := range log.snapshot() {
		op, _, _ := strings.Cut(e.text, " ")
		w, ok := want[op]
		if e.out || !ok {
			continue
		}
		seen[op] = true
		body := e.text[strings.LastIndex(e.text, "\n")+1:]
		form, err := url.ParseQuery(body)
		if err != nil {
			t.Fatalf("%s body %q: %v", op, body, err)
		}
		for k, v := range w {
			if !slices.Equal(form[k], v) {
				t.Errorf("%s %s = %v, want %v", op, k, form[k], v)
			}
		}
	}
	if len(seen) != 2 {
		t.Errorf("saw %v, want both STS calls", seen)
	}
}
