package remediate_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/remediate"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// motoAccount is moto's default account for static test credentials.
const motoAccount = "123456789012"

// keySpec describes one key the moto test creates and its finding.
type keySpec struct {
	name        string
	region      string
	rule        string
	severity    finding.Severity
	allowlisted bool
}

var motoKeys = []keySpec{
	{name: "urgent", region: "us-east-1", rule: finding.RulePendingDeletion, severity: finding.SeverityCritical},
	{name: "urgent-eu", region: "eu-west-1", rule: finding.RulePendingDeletion, severity: finding.SeverityHigh},
	{name: "allowlisted", region: "us-east-1", rule: finding.RulePendingDeletion, severity: finding.SeverityCritical, allowlisted: true},
	{name: "below-threshold", region: "us-east-1", rule: finding.RulePendingDeletion, severity: finding.SeverityMedium},
	// Severity high on purpose: a disabled-key finding is never cancelled,
	// whatever policy made of it.
	{name: "disabled", region: "us-east-1", rule: finding.RuleDisabled, severity: finding.SeverityHigh},
}

func TestApplyAgainstMoto(t *testing.T) {
	t.Parallel()
	srv := moto.Start(t)
	clients := func(_, region string) remediate.KMSAPI { return kms.NewFromConfig(srv.Config(region)) }
	type want struct {
		remediation *finding.Remediation // Command is checked separately
		stateAfter  string               // DescribeKey after Apply
	}
	tests := []struct {
		name string
		opts remediate.Options
		want map[string]want
	}{
		{
			name: "cancel",
			opts: remediate.Options{Mode: config.RemediateCancel, Threshold: finding.SeverityHigh},
			want: map[string]want{
				"urgent":          {&finding.Remediation{Action: "cancel", Outcome: "cancelled", StateAfter: "Disabled"}, "Disabled"},
				"urgent-eu":       {&finding.Remediation{Action: "cancel", Outcome: "cancelled", StateAfter: "Disabled"}, "Disabled"},
				"allowlisted":     {nil, "PendingDeletion"},
				"below-threshold": {nil, "PendingDeletion"},
				"disabled":        {nil, "Disabled"},
			},
		},
		{
			name: "cancel and re-enable",
			opts: remediate.Options{Mode: config.RemediateCancel, Threshold: finding.SeverityHigh, ReEnable: true},
			want: map[string]want{
				"urgent":          {&finding.Remediation{Action: "cancel+enable", Outcome: "enabled", StateAfter: "Enabled"}, "Enabled"},
				"urgent-eu":       {&finding.Remediation{Action: "cancel+enable", Outcome: "enabled", StateAfter: "Enabled"}, "Enabled"},
				"allowlisted":     {nil, "PendingDeletion"},
				"below-threshold": {nil, "PendingDeletion"},
				"disabled":        {nil, "Disabled"},
			},
		},
		{
			name: "plan calls nothing",
			opts: remediate.Options{Mode: config.RemediatePlan, Threshold: finding.SeverityMedium},
			want: map[string]want{
				"urgent":          {&finding.Remediation{Action: "plan", Outcome: "planned"}, "PendingDeletion"},
				"urgent-eu":       {&finding.Remediation{Action: "plan", Outcome: "planned"}, "PendingDeletion"},
				"allowlisted":     {nil, "PendingDeletion"},
				"below-threshold": {&finding.Remediation{Action: "plan", Outcome: "planned"}, "PendingDeletion"},
				"disabled":        {nil, "Disabled"},
			},
		},
		{
			name: "none",
			opts: remediate.Options{Mode: config.RemediateNone, Threshold: finding.SeverityLow},
			want: map[string]want{
				"urgent":          {nil, "PendingDeletion"},
				"urgent-eu":       {nil, "PendingDeletion"},
				"allowlisted":     {nil, "PendingDeletion"},
				"below-threshold": {nil, "PendingDeletion"},
				"disabled":        {nil, "Disabled"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := moto.Context(t)
			fs := make([]finding.Finding, len(motoKeys))
			for i, k := range motoKeys {
				fs[i] = createKey(ctx, t, clients(motoAccount, k.region), k)
			}
			if warnings := remediate.Apply(ctx, fs, tt.opts, clients); len(warnings) != 0 {
				t.Errorf("warnings = %q, want none", warnings)
			}
			for i, k := range motoKeys {
				f, w := fs[i], tt.want[k.name]
				got := f.Remediation
				switch {
				case w.remediation == nil && got != nil:
					t.Errorf("%s: Remediation = %+v, want untouched", k.name, got)
				case w.remediation != nil && got == nil:
					t.Errorf("%s: Remediation = nil, want %+v", k.name, w.remediation)
				case got != nil:
					wantCmd := f.CancelCommand()
					if tt.opts.ReEnable {
						wantCmd += " && aws kms enable-key --key-id " + f.KeyID + " --region " + f.Region
					}
					if got.Action != w.remediation.Action || got.Outcome != w.remediation.Outcome ||
						got.StateAfter != w.remediation.StateAfter || got.Error != "" || got.Command != wantCmd {
						t.Errorf("%s: Remediation = %+v, want %+v with command %q", k.name, got, w.remediation, wantCmd)
					}
				}
				out, err := clients(motoAccount, k.region).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(f.KeyID)})
				if err != nil {
					t.Fatalf("%s: DescribeKey: %v", k.name, err)
				}
				if s := string(out.KeyMetadata.KeyState); s != w.stateAfter {
					t.Errorf("%s: key state after Apply = %s, want %s", k.name, s, w.stateAfter)
				}
			}
		})
	}
}

// createKey makes the key a keySpec describes in moto and returns its
// finding as scan and policy would have left it.
func createKey(ctx context.Context, t *testing.T, api remediate.KMSAPI, k keySpec) finding.Finding {
	t.Helper()
	spec := moto.Key{Description: "remediate test " + k.name, Disable: k.rule == finding.RuleDisabled}
	if !spec.Disable {
		spec.PendingDays = 7
	}
	md := moto.SeedWith(t, api.(*kms.Client), spec)[0]
	f := finding.Finding{
		RuleID: k.rule, Account: motoAccount, Region: k.region, KeyID: md.ID, ARN: md.ARN,
		Severity: k.severity, Allowlisted: k.allowlisted, CreationDate: md.CreationDate,
	}
	if spec.Disable {
		f.State = finding.StateDisabled
		return f
	}
	f.State, f.DeletionDate, f.PendingWindowDays = finding.StatePendingDeletion, md.DeletionDate, 7
	return f
}

// stubKMS answers from scripted results shaped like the SDK's: a
// smithy.GenericAPIError carries the documented error codes.
type stubKMS struct {
	mu         sync.Mutex
	cancelErr  error
	enableErrs []error  // per EnableKey call; nil after they run out
	states     []string // per DescribeKey call; the last one repeats
	calls      []string
}

func (s *stubKMS) record(op string, keyID *string) {
	s.calls = append(s.calls, op+" "+aws.ToString(keyID))
}

func (s *stubKMS) CancelKeyDeletion(_ context.Context, in *kms.CancelKeyDeletionInput, _ ...func(*kms.Options)) (*kms.CancelKeyDeletionOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("CancelKeyDeletion", in.KeyId)
	if s.cancelErr != nil {
		return nil, s.cancelErr
	}
	return &kms.CancelKeyDeletionOutput{KeyId: aws.String("arn:aws:kms:us-east-1:111122223333:key/" + aws.ToString(in.KeyId))}, nil
}

func (s *stubKMS) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("DescribeKey", in.KeyId)
	st := s.states[0]
	if len(s.states) > 1 {
		s.states = s.states[1:]
	}
	return &kms.DescribeKeyOutput{KeyMetadata: &types.KeyMetadata{KeyId: in.KeyId, KeyState: types.KeyState(st)}}, nil
}

func (s *stubKMS) EnableKey(_ context.Context, in *kms.EnableKeyInput, _ ...func(*kms.Options)) (*kms.EnableKeyOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("EnableKey", in.KeyId)
	if len(s.enableErrs) > 0 {
		err := s.enableErrs[0]
		s.enableErrs = s.enableErrs[1:]
		return nil, err
	}
	return &kms.EnableKeyOutput{}, nil
}

func apiErr(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

func TestApplyOutcomes(t *testing.T) {
	t.Parallel()
	const keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"
	base := finding.Finding{
		RuleID: finding.RulePendingDeletion, Account: "111122223333", Region: "us-east-1", KeyID: keyID,
		ARN: "arn:aws:kms:us-east-1:111122223333:key/" + keyID, State: finding.StatePendingDeletion, Severity: finding.SeverityCritical,
	}
	tests := []struct {
		name        string
		finding     func(f *finding.Finding)
		stub        *stubKMS // nil: no client
		opts        remediate.Options
		want        *finding.Remediation // Command not compared
		wantCalls   []string
		wantWarning string
	}{
		{
			name: "cancel rejected by KMS",
			stub: &stubKMS{cancelErr: apiErr("KMSInvalidStateException", "arn:aws:kms:us-east-1:111122223333:key/"+keyID+" is not pending deletion"), states: []string{"Enabled"}},
			opts: remediate.Options{Mode: config.RemediateCancel, Threshold: finding.SeverityHigh},
			want: &finding.Remediation{Action: "cancel", Outcome: "failed", StateAfter: "Enabled",
				Error: "CancelKeyDeletion: KMSInvalidStateException: arn:aws:kms:us-east-1:111122223333:key/" + keyID + " is not pending deletion"},
			wantCalls:   []string{"CancelKeyDeletion " + keyID, "DescribeKey " + keyID},
			wantWarning: "remediation of " + keyID + " in 111122223333/us-east-1: CancelKeyDeletion: KMSInvalidStateException",
		},
		{
			name:      "state catches up after eventual consistency",
			stub:      &stubKMS{states: []string{"PendingDeletion", "PendingDeletion", "Disabled"}},
			opts:      remediate.Options{Mode: config.RemediateCancel, Threshold: finding.SeverityHigh},
			want:      &finding.Remediation{Action: "cancel", Outcome: "cancelled", StateAfter: "Disabled"},
			wantCalls: []string{"CancelKeyDeletion " + keyID, "DescribeKey " + keyID, "DescribeKey " + keyID, "DescribeKey " + keyID},
		},
		{
			name:        "still pending after every check",
			stub:        &stubKMS{states: []string{"PendingDeletion"}},
			opts:        remediate.Options{Mode: config.RemediateCancel, Threshold: finding.SeverityHigh, VerifyAttempts: 2},
			want:        &finding.Remediation{Action: "cancel", Outcome: "failed", StateAfter: "PendingDeletion", Error: "key still PendingDeletion after CancelKeyDeletion"},
			wantCalls:   []string{"CancelKeyDeletion " + keyID, "DescribeKey " + keyID, "DescribeKey " + keyID},
			wantWarning: "remediation of " + keyID + " in 111122223333/us-east-1: key still PendingDeletion after CancelKeyDeletion (outcome failed, state now PendingDeletion)",
		},
		{
			name: "enable denied leaves the key cancelled",
			stub: &stubKMS{states: []string{"Disabled"}, enableErrs: []error{apiErr("AccessDeniedException", "not authorized to perform: kms:EnableKey")}},
			opts: remediate.Options{Mode: config.RemediateCancel, Threshold: finding.SeverityHigh, ReEnable: true},
			want: &finding.Remediation{Action: "cancel+enable", Outcome: "cancelled", StateAfter: "Disabled",
				Error: "EnableKey: AccessDeniedException: not authorized to perform: kms:EnableKey"},
			wantCalls:   []string{"CancelKeyDeletion " + keyID, "DescribeKey " + keyID, "EnableKey " + keyID},
			wantWarning: "remediation of " + keyID + " in 111122223333/us-east-1: EnableKey: AccessDeniedException",
		},
		{
			name:      "enable retried while the cancellation propagates",
			stub:      &stubKMS{states: []string{"Disabled", "Enabled"}, enableErrs: []error{apiErr("KMSInvalidStateException", "key is pending deletion")}},
			opts:      remediate.Options{Mode: config.RemediateCancel, Threshold: finding.SeverityHigh, ReEnable: true},
			want:      &finding.Remediation{Action: "cancel+enable", Outcome: "enabled", StateAfter: "Enabled"},
			wantCalls: []string{"CancelKeyDeletion " + keyID, "DescribeKey " + keyID, "EnableKey " + keyID, "EnableKey " + keyID, "DescribeKey " + keyID},
		},
		{
			// AWS allows CancelKeyDeletion on a primary in PendingReplicaDeletion;
			// it becomes Disabled (its replicas keep their own schedules).
			name: "multi-Region primary waiting for its replicas",
			finding: func(f *finding.Finding) {
				f.RuleID, f.State, f.DeletionDate = finding.RulePendingReplicaDeletion, finding.StatePendingReplicaDeletion, time.Time{}
			},
			stub:      &stubKMS{states: []string{"Disabled"}},
			opts:      remediate.Options{Mode: config.RemediateCancel, Threshold: finding.SeverityHigh},
			want:      &finding.Remediation{Action: "cancel", Outcome: "cancelled", StateAfter: "Disabled"},
			wantCalls: []string{"CancelKeyDeletion " + keyID, "DescribeKey " + keyID},
		},
		{
			name:        "no client for the account",
			opts:        remediate.Options{Mode: config.RemediateCancel, Threshold: finding.SeverityHigh},
			want:        &finding.Remediation{Action: "cancel", Outcome: "skipped", Error: "no KMS client for this account and region"},
			wantWarning: "remediation of " + keyID + " in 111122223333/us-east-1 skipped: no KMS client",
		},
		{
			name:        "threshold none makes nothing eligible",
			stub:        &stubKMS{states: []string{"Disabled"}},
			opts:        remediate.Options{Mode: config.RemediateCancel},
			wantWarning: "remediate is cancel but remediate-on is none: no key is eligible",
		},
		{
			name:    "allowlisted is never touched",
			finding: func(f *finding.Finding) { f.Allowlisted = true },
			stub:    &stubKMS{states: []string{"Disabled"}},
			opts:    remediate.Options{Mode: config.RemediateCancel, Threshold: finding.SeverityLow},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := base
			if tt.finding != nil {
				tt.finding(&f)
			}
			fs := []finding.Finding{f}
			var slept []time.Duration
			tt.opts.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
			clients := func(string, string) remediate.KMSAPI {
				if tt.stub == nil {
					return nil
				}
				return tt.stub
			}
			warnings := remediate.Apply(context.Background(), fs, tt.opts, clients)
			got := fs[0].Remediation
			if (got == nil) != (tt.want == nil) {
				t.Fatalf("Remediation = %+v, want %+v", got, tt.want)
			}
			if got != nil && (got.Action != tt.want.Action || got.Outcome != tt.want.Outcome || got.StateAfter != tt.want.StateAfter || got.Error != tt.want.Error) {
				t.Errorf("Remediation = %+v\nwant %+v", got, tt.want)
			}
			if tt.stub != nil && strings.Join(tt.stub.calls, ",") != strings.Join(tt.wantCalls, ",") {
				t.Errorf("calls = %q, want %q", tt.stub.calls, tt.wantCalls)
			}
			if tt.wantWarning == "" && len(warnings) != 0 {
				t.Errorf("warnings = %q, want none", warnings)
			}
			if tt.wantWarning != "" && (len(warnings) != 1 || !strings.HasPrefix(warnings[0], tt.wantWarning)) {
				t.Errorf("warnings = %q, want one starting %q", warnings, tt.wantWarning)
			}
		})
	}
}

func TestEnableCommand(t *testing.T) {
	t.Parallel()
	f := finding.Finding{KeyID: "mrk-1234abcd12ab34cd56ef1234567890ab", Region: "eu-west-1"}
	if got, want := remediate.EnableCommand(f), "aws kms enable-key --key-id mrk-1234abcd12ab34cd56ef1234567890ab --region eu-west-1"; got != want {
		t.Errorf("EnableCommand = %q, want %q", got, want)
	}
}
