// Package sigv4 reads what the test servers need from a request's AWS
// Signature Version 4 Authorization header.
package sigv4

import "strings"

// CredentialScope reads "Credential=AKID/date/region/service/aws4_request"
// from a SigV4 Authorization header; empty strings when it is not there.
func CredentialScope(auth string) (region, akid, service string) {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "", "", ""
	}
	cred, _, _ := strings.Cut(rest, ",")
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return "", "", ""
	}
	return parts[2], parts[0], parts[3]
}
