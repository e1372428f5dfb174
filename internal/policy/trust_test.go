package policy

import (
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
)

func TestAddedByChange(t *testing.T) {
	t.Parallel()
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	const arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	base := []config.AllowEntry{
		{Key: arn, Reason: "retired", Expires: day("2027-01-31")},
		{Alias: "alias/tmp-*", Account: "111122223333", Region: "eu-west-1", Reason: "scratch", Expires: day("2027-03-01")},
	}
	tests := []struct {
		name  string
		head  config.AllowEntry
		added bool
	}{
		{"unchanged", base[0], false},
		{"reworded reason", config.AllowEntry{Key: arn, Reason: "retired (CHG-1)", Expires: day("2027-01-31")}, false},
		{"shorter expiry", config.AllowEntry{Key: arn, Reason: "r", Expires: day("2026-12-31")}, false},
		{"narrower: one alias of the glob", config.AllowEntry{Alias: "alias/tmp-1", Account: "111122223333", Region: "eu-west-1", Reason: "r", Expires: day("2027-03-01")}, false},
		{"narrower: an account added", config.AllowEntry{Key: arn, Account: "111122223333", Reason: "r", Expires: day("2027-01-01")}, false},

		{"new key", config.AllowEntry{Key: "alias/orders", Reason: "r", Expires: day("2026-12-31")}, true},
		{"later expiry", config.AllowEntry{Key: arn, Reason: "r", Expires: day("2027-02-01")}, true},
		{"wider glob", config.AllowEntry{Alias: "alias/t*", Account: "111122223333", Region: "eu-west-1", Reason: "r", Expires: day("2027-03-01")}, true},
		{"account dropped", config.AllowEntry{Alias: "alias/tmp-*", Region: "eu-west-1", Reason: "r", Expires: day("2027-03-01")}, true},
		{"region glob", config.AllowEntry{Alias: "alias/tmp-*", Account: "111122223333", Region: "eu-*", Reason: "r", Expires: day("2027-03-01")}, true},
		{"other account", config.AllowEntry{Alias: "alias/tmp-*", Account: "444455556666", Region: "eu-west-1", Reason: "r", Expires: day("2027-03-01")}, true},
		// A narrower glob is still a rewording the comparison cannot prove
		// narrower: it is shown for review rather than trusted.
		{"glob reworded narrower", config.AllowEntry{Alias: "alias/tmp-a*", Account: "111122223333", Region: "eu-west-1", Reason: "r", Expires: day("2027-03-01")}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := AddedByChange(base, []config.AllowEntry{tc.head})
			if got[0] != tc.added {
				t.Errorf("AddedByChange(%+v) = %v, want %v", tc.head, got[0], tc.added)
			}
		})
	}
	if got := AddedByChange(nil, base); !got[0] || !got[1] {
		t.Errorf("with no base allowlist every entry is added: %v", got)
	}
}
