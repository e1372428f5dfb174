package config

import (
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Probe values a catch-all pattern matches all of. They span the shapes AWS
// gives (UUID and multi-Region key ids, one- and many-character alias names,
// every partition's regions), so a pattern that matches them all matches
// in practice every key, alias, account or region, whatever its spelling:
// *, **, ?*, [0-9a-f]*, arn:aws:kms:*:*:key/*, alias/*, *-*-* ...
var (
	probeUUIDKeyIDs = []string{
		"1234abcd-12ab-34cd-56ef-1234567890ab",
		"0b7f3c2e-9d4a-4e1b-8c6f-5a2d1e0f9b3c",
		"f00dbabe-0000-4000-8000-000000000001",
		"9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
		"a1b2c3d4-e5f6-4789-abcd-ef0123456789",
	}
	probeMultiRegionKeyIDs = []string{
		"mrk-1234567890abcdef1234567890abcdef",
		"mrk-fedcba0987654321fedcba0987654321",
		"mrk-00000000000000000000000000000000",
	}
	probeAliases  = []string{"alias/orders", "alias/A", "alias/z9_x-y", "alias/0"}
	probeAccounts = []string{"111122223333", "000000000000", "999999999999", "123456789012"}
	probeRegions  = []string{
		"us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1", "me-central-1",
		"ca-central-1", "af-south-1", "il-central-1", "cn-north-1", "us-gov-west-1",
	}
	probePartitions = []string{"aws", "aws-cn", "aws-us-gov"}
)

// CatchAll reports the first selector of e that matches everything of its
// kind, and what it matches: a key pattern that matches every key (or every
// multi-Region key, or every aliased key) of an account and region, an alias
// pattern that matches every alias, an account pattern that matches every
// account, a region pattern that matches every region. Such an entry would
// approve deletions nobody looked at; an omitted selector is a choice the
// entry states, a pattern that matches everything is usually a slip.
func CatchAll(e AllowEntry) (field, matches string, ok bool) {
	switch {
	case e.Key != "" && keyCatchAll(e.Key):
		return "key", "every key", true
	case e.Alias != "" && allMatch(e.Alias, probeAliases):
		return "alias", "every alias", true
	case e.Account != "" && allMatch(e.Account, probeAccounts):
		return "account", "every account", true
	case e.Region != "" && allMatch(e.Region, probeRegions):
		return "region", "every region", true
	}
	return "", "", false
}

// keyCatchAll probes a key pattern the way the allowlist applies it: against
// a key's ARN, its id, its aliases and their ARNs. An ARN pattern is probed
// in the partition, region and account it names, so that
// arn:aws:kms:eu-west-1:111122223333:key/* (every key there) is caught.
func keyCatchAll(pattern string) bool {
	partition, region, account := probeScope(pattern)
	arn := func(resource string) string {
		return "arn:" + partition + ":kms:" + region + ":" + account + ":" + resource
	}
	every := func(ids []string, resource func(string) string) bool {
		for _, id := range ids {
			if !glob(pattern, id) && !glob(pattern, arn(resource(id))) {
				return false
			}
		}
		return true
	}
	keyRes := func(id string) string { return "key/" + id }
	aliasRes := func(a string) string { return a }
	return every(probeUUIDKeyIDs, keyRes) || every(probeMultiRegionKeyIDs, keyRes) || every(probeAliases, aliasRes)
}

// probeScope picks, for each of the partition, region and account segments
// of an ARN pattern, a probe value the segment matches (the segment itself
// when it is literal).
func probeScope(pattern string) (partition, region, account string) {
	partition, region, account = probePartitions[0], probeRegions[0], probeAccounts[0]
	parts := strings.SplitN(pattern, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return
	}
	pick := func(segment string, probes []string) string {
		if !hasGlobMeta(segment) {
			return segment
		}
		for _, p := range probes {
			if glob(segment, p) {
				return p
			}
		}
		return probes[0]
	}
	return pick(parts[1], probePartitions), pick(parts[3], probeRegions), pick(parts[4], probeAccounts)
}

func allMatch(pattern string, probes []string) bool {
	for _, p := range probes {
		if !glob(pattern, p) {
			return false
		}
	}
	return true
}

func glob(pattern, s string) bool {
	ok, err := doublestar.Match(pattern, s)
	return err == nil && ok
}

// hasGlobMeta reports whether a pattern has any doublestar syntax; one
// without is a literal that matches itself only.
func hasGlobMeta(pattern string) bool { return strings.ContainsAny(pattern, `*?[]{}\`) }
