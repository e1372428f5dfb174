package creds

import (
	"bytes"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/fakeoidc"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// TestLoadBaseHonoursSTSEndpoint proves the path a real run takes: the base
// config from the standard chain, STS (web identity and member roles) sent to
// AWS_ENDPOINT_URL_STS, other services to AWS_ENDPOINT_URL.
// Not parallel: it sets environment variables.
func TestLoadBaseHonoursSTSEndpoint(t *testing.T) {
	srv := moto.Start(t)
	ctx := moto.Context(t)
	proxy := startProxy(t, srv.URL, nil)
	for _, kv := range [][2]string{
		{"AWS_ENDPOINT_URL", srv.URL},
		{"AWS_ENDPOINT_URL_STS", proxy.URL},
		{"AWS_ACCESS_KEY_ID", "testing"},
		{"AWS_SECRET_ACCESS_KEY", "testing"},
		{"AWS_REGION", "eu-central-1"},
	} {
		t.Setenv(kv[0], kv[1])
	}
	tests := []struct {
		name            string
		region          string
		opts            Options
		wantRegion      string
		wantWebIdentity int
		wantAssumeRole  int
		wantAccounts    []string
	}{
		{"standard chain alone", "", Options{}, "eu-central-1", 0, 0, []string{"123456789012"}},
		{"role-to-assume and a member, explicit region", "ap-southeast-2",
			Options{Identity: config.Identity{RoleToAssume: hubRole, Accounts: []string{"arn:aws:iam::222222222222:role/m"}}}, "ap-southeast-2", 1, 1, []string{"222222222222"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := [2]int{proxy.count("AssumeRoleWithWebIdentity"), proxy.count("AssumeRole")}
			base, err := LoadBase(ctx, tt.region)
			if err != nil {
				t.Fatal(err)
			}
			if base.Region != tt.wantRegion {
				t.Errorf("region = %q, want %q", base.Region, tt.wantRegion)
			}
			oidc := fakeoidc.Start(t, fakeoidc.Config{})
			action := oidc.Action(&bytes.Buffer{})
			accounts, scanErrs, err := Resolve(ctx, base, tt.opts, Deps{OIDC: action, Mask: action.AddMask})
			if err != nil || len(scanErrs) != 0 {
				t.Fatalf("Resolve: %v %v", err, scanErrs)
			}
			var ids []string
			for _, a := range accounts {
				ids = append(ids, a.ID)
				listKeys(t, ctx, a.Config) // KMS reaches moto directly
			}
			if len(ids) != len(tt.wantAccounts) || ids[0] != tt.wantAccounts[0] {
				t.Errorf("accounts = %v, want %v", ids, tt.wantAccounts)
			}
			if got := proxy.count("AssumeRoleWithWebIdentity") - before[0]; got != tt.wantWebIdentity {
				t.Errorf("AssumeRoleWithWebIdentity via AWS_ENDPOINT_URL_STS: %d, want %d", got, tt.wantWebIdentity)
			}
			if got := proxy.count("AssumeRole") - before[1]; got != tt.wantAssumeRole {
				t.Errorf("AssumeRole via AWS_ENDPOINT_URL_STS: %d, want %d", got, tt.wantAssumeRole)
			}
			if proxy.count("GetCallerIdentity") == 0 {
				t.Error("GetCallerIdentity did not go to AWS_ENDPOINT_URL_STS")
			}
			if n := proxy.count("ListKeys"); n != 0 {
				t.Errorf("ListKeys went to the STS endpoint %d times", n)
			}
		})
	}
}
