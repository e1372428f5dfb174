package creds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/sethvargo/go-githubactions"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/fakeoidc"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

const (
	hubRole    = "arn:aws:iam::123456789012:role/gate-hub"
	memberRole = "gate-member"
)

// TestResolveAccountsMoto runs Resolve against moto with an OIDC base identity
// and member accounts, and proves each Account.Config is isolated to its own
// account's keys.
func TestResolveAccountsMoto(t *testing.T) {
	t.Parallel()
	srv := moto.Start(t)
	ctx := moto.Context(t)

	tests := []struct {
		name       string
		opts       Options
		deny       []string
		wantIDs    []string
		wantRoles  map[string]string
		wantErrs   []string // accounts with a credentials ScanError
		wantErrSub string
	}{
		{
			name: "role-to-assume with the base account and two members",
			opts: Options{Identity: config.Identity{
				RoleToAssume: hubRole,
				Accounts:     []string{"123456789012", "arn:aws:iam::222222222222:role/gate-member", "333333333333"},
				RoleName:     memberRole,
			}},
			wantIDs: []string{"123456789012", "222222222222", "333333333333"},
			wantRoles: map[string]string{
				"123456789012": hubRole,
				"222222222222": "arn:aws:iam::222222222222:role/gate-member",
				"333333333333": "arn:aws:iam::333333333333:role/gate-member",
			},
		},
		{
			name:      "role-to-assume alone scans its own account",
			opts:      Options{Identity: config.Identity{RoleToAssume: hubRole}},
			wantIDs:   []string{"123456789012"},
			wantRoles: map[string]string{"123456789012": hubRole},
		},
		{
			name: "a denied member is a scan error and the rest go on",
			opts: Options{Identity: config.Identity{
				RoleToAssume: hubRole,
				Accounts:     []string{"222222222222", "444444444444"},
				RoleName:     memberRole,
			}},
			deny:       []string{"arn:aws:iam::444444444444:role/gate-member"},
			wantIDs:    []string{"222222222222"},
			wantRoles:  map[string]string{"222222222222": "arn:aws:iam::222222222222:role/gate-member"},
			wantErrs:   []string{"444444444444"},
			wantErrSub: "assume role arn:aws:iam::444444444444:role/gate-member: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/gate-hub/kms-deletion-gate is not authorized to perform: sts:AssumeRole",
		},
		{
			name:      "standard chain with one role ARN",
			opts:      Options{Identity: config.Identity{Accounts: []string{"arn:aws:iam::222222222222:role/other"}}},
			wantIDs:   []string{"222222222222"},
			wantRoles: map[string]string{"222222222222": "arn:aws:iam::222222222222:role/other"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset(t)
			// One key per account, created with that account's credentials.
			keys := map[string]string{
				"123456789012": createKey(t, ctx, srv.Config("us-east-1"), "default account"),
				"222222222222": createKey(t, ctx, configAsRole(t, ctx, srv, "arn:aws:iam::222222222222:role/seed"), "member 2"),
			}
			proxy := startProxy(t, srv.URL, nil)
			for _, arn := range tt.deny {
				proxy.denyRole(arn)
			}
			oidc := fakeoidc.Start(t, fakeoidc.Config{AllowedAudiences: []string{DefaultAudience}})
			var log bytes.Buffer
			action := oidc.Action(&log)

			accounts, scanErrs, err := Resolve(ctx, configAt(srv, proxy.URL), tt.opts, Deps{OIDC: action, Mask: action.AddMask})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			// One GetCallerIdentity, for the base identity: a member's
			// account is in AssumeRole's answer.
			if got := proxy.count("GetCallerIdentity"); got != 1 {
				t.Errorf("GetCallerIdentity called %d times for %d account(s), want 1", got, len(accounts))
			}
			var ids []string
			for _, a := range accounts {
				ids = append(ids, a.ID)
				if a.RoleARN != tt.wantRoles[a.ID] {
					t.Errorf("account %s RoleARN = %q, want %q", a.ID, a.RoleARN, tt.wantRoles[a.ID])
				}
				// The account's config works and is that account.
				id, err := sts.NewFromConfig(a.Config).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				if err != nil || aws.ToString(id.Account) != a.ID {
					t.Errorf("account %s: GetCallerIdentity = %v, %v", a.ID, id, err)
				}
				// Isolation: each account sees exactly its own keys.
				var want []string
				if k, ok := keys[a.ID]; ok {
					want = []string{k}
				}
				if got := listKeys(t, ctx, a.Config); !slices.Equal(got, want) {
					t.Errorf("account %s ListKeys = %v, want %v", a.ID, got, want)
				}
			}
			if !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("accounts = %v, want %v", ids, tt.wantIDs)
			}
			var errAccounts []string
			for _, se := range scanErrs {
				errAccounts = append(errAccounts, se.Account)
				if se.Stage != StageCredentials || se.Region != "" {
					t.Errorf("scan error %+v: want stage %q and no region", se, StageCredentials)
				}
				if !strings.Contains(se.Message, tt.wantErrSub) {
					t.Errorf("scan error message %q, want containing %q", se.Message, tt.wantErrSub)
				}
			}
			if !slices.Equal(errAccounts, tt.wantErrs) {
				t.Errorf("scan errors for %v, want %v", errAccounts, tt.wantErrs)
			}
			wantTokens := 0
			if tt.opts.RoleToAssume != "" {
				wantTokens = 1
			}
			if oidc.Calls() != wantTokens {
				t.Errorf("OIDC endpoint called %d times, want %d", oidc.Calls(), wantTokens)
			}
			if got := proxy.count("AssumeRoleWithWebIdentity"); got != wantTokens {
				t.Errorf("AssumeRoleWithWebIdentity called %d times, want %d", got, wantTokens)
			}
			for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
				if line != "" && !strings.HasPrefix(line, "::add-mask::") {
					t.Errorf("unexpected log line %q", line)
				}
			}
		})
	}
}

// TestResolveOrganizationMoto discovers accounts with Organizations
// ListAccounts (more than one page), skips closed accounts, uses the base
// identity for the management account and reports a denied member.
func TestResolveOrganizationMoto(t *testing.T) {
	t.Parallel()
	srv := moto.Start(t)
	ctx := moto.Context(t)
	org := organizations.NewFromConfig(srv.Config("us-east-1"))
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatalf("create organization: %v", err)
	}
	var members []string
	for i := range 22 {
		out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{
			AccountName: aws.String(fmt.Sprintf("member-%d", i)),
			Email:       aws.String(fmt.Sprintf("member-%d@example.com", i)),
		})
		if err != nil {
			t.Fatalf("create account: %v", err)
		}
		members = append(members, aws.ToString(out.CreateAccountStatus.AccountId))
	}
	closed, denied := members[0], members[1]
	if _, err := org.CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(closed)}); err != nil {
		t.Fatalf("close account: %v", err)
	}
	proxy := startProxy(t, srv.URL, nil)
	proxy.denyRole("arn:aws:iam::" + denied + ":role/OrganizationAccountAccessRole")

	accounts, scanErrs, err := Resolve(ctx, configAt(srv, proxy.URL), Options{Identity: config.Identity{
		Organization: true,
		RoleName:     "OrganizationAccountAccessRole",
	}, Concurrency: 4}, Deps{})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	want := []string{"123456789012"}
	want = append(want, members[2:]...)
	slices.Sort(want)
	var got []string
	for _, a := range accounts {
		got = append(got, a.ID)
		wantRole := "arn:aws:iam::" + a.ID + ":role/OrganizationAccountAccessRole"
		if a.ID == "123456789012" {
			wantRole = "" // the management account is scanned with the base identity
		}
		if a.RoleARN != wantRole {
			t.Errorf("account %s RoleARN = %q, want %q", a.ID, a.RoleARN, wantRole)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("accounts = %v\nwant %v", got, want)
	}
	if len(scanErrs) != 1 || scanErrs[0].Account != denied || scanErrs[0].Stage != StageCredentials || !strings.Contains(scanErrs[0].Message, "AccessDenied") {
		t.Errorf("scan errors = %+v, want one AccessDenied for %s", scanErrs, denied)
	}
	if n := proxy.count("ListAccounts"); n < 2 {
		t.Errorf("ListAccounts called %d times, want at least 2 pages for 23 accounts", n)
	}
	if n := proxy.count("AssumeRole"); n != len(want) { // 20 active members + the denied one; none for the management account
		t.Errorf("AssumeRole called %d times, want %d (once per member)", n, len(want))
	}
}

// TestResolveFatalMoto covers the errors that stop the run.
func TestResolveFatalMoto(t *testing.T) {
	t.Parallel()
	srv := moto.Start(t)
	ctx := moto.Context(t)

	tests := []struct {
		name            string
		opts            Options
		noOIDCEnv       bool
		allowAudiences  []string
		denyWebIdentity bool
		denyOps         map[string]bool
		badCredentials  bool
		wantErr         []string
		wantIs          error
		wantTokenCalls  int
	}{
		{
			name:           "missing id-token permission",
			opts:           Options{Identity: config.Identity{RoleToAssume: hubRole}},
			noOIDCEnv:      true,
			wantErr:        []string{"`permissions: id-token: write`", "ACTIONS_ID_TOKEN_REQUEST_URL"},
			wantIs:         ErrNoIDToken,
			wantTokenCalls: 0,
		},
		{
			name:           "audience refused by the token endpoint",
			opts:           Options{Identity: config.Identity{RoleToAssume: hubRole, Audience: "custom.example"}},
			allowAudiences: []string{DefaultAudience},
			wantErr:        []string{`fetch the GitHub OIDC token for audience "custom.example"`, "not allowed"},
			wantTokenCalls: 1,
		},
		{
			name:            "trust policy denies the web identity, hostile echo of the token redacted",
			opts:            Options{Identity: config.Identity{RoleToAssume: hubRole}},
			denyWebIdentity: true,
			wantErr:         []string{"role-to-assume " + hubRole + " could not be assumed", "AccessDenied", "trust policy", "with token ***"},
			wantTokenCalls:  1,
		},
		{
			name:           "standard chain unusable",
			opts:           Options{},
			badCredentials: true,
			wantErr:        []string{"no usable AWS credentials from the standard chain", "configure-aws-credentials"},
		},
		{
			name:    "organization mode in an account that lists no organization",
			opts:    Options{Identity: config.Identity{Organization: true, RoleName: "r"}},
			wantErr: []string{"organization: organizations:ListAccounts returned no ACTIVE account", "management account or a delegated administrator"},
		},
		{
			name:    "organization mode without organizations:ListAccounts",
			opts:    Options{Identity: config.Identity{Organization: true, RoleName: "r"}},
			denyOps: map[string]bool{"ListAccounts": true},
			wantErr: []string{"organization: list the organization's accounts (organizations:ListAccounts", "AccessDeniedException: You don't have permissions"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset(t)
			proxy := startProxy(t, srv.URL, nil)
			proxy.denyWebIdentity = tt.denyWebIdentity
			proxy.echoToken = true
			proxy.denyOps = tt.denyOps
			oidc := fakeoidc.Start(t, fakeoidc.Config{AllowedAudiences: tt.allowAudiences})
			var log bytes.Buffer
			action := oidc.Action(&log)
			deps := Deps{OIDC: action, Mask: action.AddMask}
			if tt.noOIDCEnv {
				// A real Action in a job without the permission: no token variables.
				deps.OIDC = githubactions.New(githubactions.WithGetenv(func(string) string { return "" }), githubactions.WithWriter(&log))
			}
			cfg := configAt(srv, proxy.URL)
			if tt.badCredentials {
				cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
					return aws.Credentials{}, errors.New("no EC2 IMDS role found")
				})
			}
			_, _, err := Resolve(ctx, cfg, tt.opts, deps)
			if err == nil {
				t.Fatal("Resolve succeeded, want an error")
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q\nwant containing %q", err, s)
				}
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			if oidc.Calls() != tt.wantTokenCalls {
				t.Errorf("OIDC endpoint called %d times, want %d", oidc.Calls(), tt.wantTokenCalls)
			}
			for _, tok := range oidc.Issued() {
				if strings.Contains(err.Error(), tok) {
					t.Errorf("error contains the OIDC token: %v", err)
				}
			}
		})
	}
}
