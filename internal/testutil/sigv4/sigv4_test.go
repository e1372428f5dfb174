package sigv4

import "testing"

func TestCredentialScope(t *testing.T) {
	r, k, s := CredentialScope("AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261201/eu-west-1/kms/aws4_request, SignedHeaders=host, Signature=x")
	if r != "eu-west-1" || k != "ASIAEXAMPLE" || s != "kms" {
		t.Fatalf("CredentialScope = %q %q %q", r, k, s)
	}
	for _, bad := range []string{"", "Bearer x", "AWS4-HMAC-SHA256 Credential=a/b/c, x"} {
		if r, k, s := CredentialScope(bad); r != "" || k != "" || s != "" {
			t.Errorf("CredentialScope(%q) = %q %q %q, want empty", bad, r, k, s)
		}
	}
}
