package creds

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/fakeoidc"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// TestSecretHygiene runs Resolve and a scan-like use of every account with
// recognisable secrets, records in one order everything written to the
// Actions log and every request that reached AWS, and checks that each secret
// appears in the log only as its own ::add-mask:: line, and that the mask came
// before any request carrying it.
func TestSecretHygiene(t *testing.T) {
	t.Parallel()
	srv := moto.Start(t)
	ctx := moto.Context(t)
	log := &eventLog{}
	proxy := startProxy(t, srv.URL, log)
	proxy.denyRole("arn:aws:iam::444444444444:role/gate-member")
	oidc := fakeoidc.Start(t, fakeoidc.Config{AllowedAudiences: []string{DefaultAudience}, TokenPrefix: "hygiene-marker-"})
	action := oidc.Action(log)
	const externalID = "external-id-secret-7f3a"

	accounts, scanErrs, err := Resolve(ctx, configAt(srv, proxy.URL), Options{Identity: config.Identity{
		RoleToAssume:   hubRole,
		Accounts:       []string{"arn:aws:iam::222222222222:role/gate-member", "333333333333", "444444444444"},
		RoleName:       memberRole,
		RoleExternalID: externalID,
		MaskAccountIDs: true,
	}}, Deps{OIDC: action, Mask: action.AddMask})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if len(accounts) != 2 || len(scanErrs) != 1 {
		t.Fatalf("got %d accounts and %v, want 2 accounts and one scan error", len(accounts), scanErrs)
	}
	// Use every account as the scan would.
	for _, a := range accounts {
		cfg := a.Config.Copy()
		cfg.Region = "eu-west-1"
		if _, err := kms.NewFromConfig(cfg).ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
			t.Fatalf("account %s: ListKeys: %v", a.ID, err)
		}
	}

	type secret struct {
		name      string
		value     string
		onTheWire bool // sent in some request (a secret key only signs)
	}
	var secrets []secret
	issued := oidc.Issued()
	if len(issued) != 1 {
		t.Fatalf("issued %d OIDC tokens, want 1", len(issued))
	}
	secrets = append(secrets, secret{"OIDC token", issued[0], true})
	secrets = append(secrets, secret{"external ID", externalID, true})
	for _, id := range []string{"123456789012", "222222222222", "333333333333", "444444444444"} {
		secrets = append(secrets, secret{"account ID " + id, id, true})
	}
	for _, a := range accounts {
		c, err := a.Config.Credentials.Retrieve(ctx)
		if err != nil {
			t.Fatalf("retrieve %s: %v", a.ID, err)
		}
		secrets = append(secrets,
			secret{a.ID + " access key ID", c.AccessKeyID, true},
			secret{a.ID + " secret access key", c.SecretAccessKey, false},
			secret{a.ID + " session token", c.SessionToken, true},
		)
	}
	// The hub session (the base identity) is not one of the accounts here;
	// take its access key ID from the member AssumeRole requests it signed.
	hubKey, hubToken := baseSessionFromLog(t, log.snapshot())
	secrets = append(secrets, secret{"hub access key ID", hubKey, true}, secret{"hub session token", hubToken, true})

	events := log.snapshot()
	for _, s := range secrets {
		if s.value == "" {
			t.Errorf("%s is empty", s.name)
			continue
		}
		maskLine := "::add-mask::" + s.value
		maskAt, usedAt := -1, -1
		for i, e := range events {
			if !strings.Contains(e.text, s.value) {
				continue
			}
			switch {
			case e.out && e.text == maskLine:
				if maskAt < 0 {
					maskAt = i
				}
			case e.out:
				t.Errorf("%s printed outside its mask line: %q", s.name, e.text)
			case usedAt < 0:
				usedAt = i
			}
		}
		switch {
		case maskAt < 0:
			t.Errorf("%s never masked", s.name)
		case usedAt >= 0 && usedAt < maskAt:
			t.Errorf("%s sent to AWS (event %d) before it was masked (event %d)", s.name, usedAt, maskAt)
		}
		if s.onTheWire && usedAt < 0 {
			t.Errorf("%s never reached AWS: the test proves nothing about its order", s.name)
		}
		if !s.onTheWire && usedAt >= 0 {
			t.Errorf("%s was sent to AWS", s.name)
		}
		for _, se := range scanErrs {
			if strings.Contains(se.Message, s.value) && !strings.HasPrefix(s.name, "account ID") {
				t.Errorf("scan error %q contains the %s", se.Message, s.name)
			}
		}
	}
	for _, e := range events {
		if e.out && !strings.HasPrefix(e.text, "::add-mask::") {
			t.Errorf("Resolve wrote a non-mask line: %q", e.text)
		}
	}
}

// baseSessionFromLog returns the access key ID and session token that signed
// the first member AssumeRole (the hub session from AssumeRoleWithWebIdentity).
func baseSessionFromLog(t *testing.T, events []event) (accessKeyID, sessionToken string) {
	t.Helper()
	for _, e := range events {
		if e.out || !strings.HasPrefix(e.text, "AssumeRole ") {
			continue
		}
		_, after, ok := strings.Cut(e.text, "Credential=")
		if !ok {
			continue
		}
		accessKeyID, _, _ = strings.Cut(after, "/")
		_, after, _ = strings.Cut(e.text, "X-Amz-Security-Token: ")
		sessionToken, _, _ = strings.Cut(after, "\n")
		return accessKeyID, sessionToken
	}
	t.Fatal("no signed AssumeRole request recorded")
	return "", ""
}

func TestMaskingProviderMasksEveryRefresh(t *testing.T) {
	t.Parallel()
	n := 0
	inner := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		n++
		if n == 3 {
			return aws.Credentials{}, fmt.Errorf("sts unavailable")
		}
		return aws.Credentials{
			AccessKeyID:     fmt.Sprintf("ASIAKEY%d", n),
			SecretAccessKey: fmt.Sprintf("secret%d", n),
			SessionToken:    fmt.Sprintf("token%d", n),
		}, nil
	})
	var masked []string
	p := &maskingProvider{inner: inner, mask: func(s string) { masked = append(masked, s) }}
	for range 3 {
		_, _ = p.Retrieve(context.Background())
	}
	want := []string{"ASIAKEY1", "secret1", "token1", "ASIAKEY2", "secret2", "token2"}
	if fmt.Sprint(masked) != fmt.Sprint(want) {
		t.Errorf("masked %v, want %v", masked, want)
	}
}
