package config

import "testing"

func TestCatchAll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		entry AllowEntry
		field string // "" when the entry is not a catch-all
	}{
		{"star key", AllowEntry{Key: "*"}, "key"},
		{"double star key", AllowEntry{Key: "**"}, "key"},
		{"every key ARN", AllowEntry{Key: "arn:aws:kms:*:*:key/*"}, "key"},
		{"every key of one account and region", AllowEntry{Key: "arn:aws:kms:eu-west-1:111122223333:key/*"}, "key"},
		{"every key of the eu regions", AllowEntry{Key: "arn:aws:kms:eu-*:*:key/*"}, "key"},
		{"every key in China", AllowEntry{Key: "arn:aws-cn:kms:*:*:key/*"}, "key"},
		{"any ARN at all", AllowEntry{Key: "arn:*/*"}, "key"},
		{"matches no ARN", AllowEntry{Key: "arn:*"}, ""},
		{"hex class", AllowEntry{Key: "[0-9a-f]*"}, "key"},
		{"every multi-Region key", AllowEntry{Key: "mrk-*"}, "key"},
		{"every aliased key by key", AllowEntry{Key: "alias/*"}, "key"},
		{"every alias ARN", AllowEntry{Key: "arn:aws:kms:*:*:alias/*"}, "key"},
		{"question marks", AllowEntry{Key: "?*"}, "key"},
		{"every alias", AllowEntry{Alias: "alias/*"}, "alias"},
		{"every alias nested", AllowEntry{Alias: "alias/**"}, "alias"},
		{"every account", AllowEntry{Key: "alias/orders", Account: "*"}, "account"},
		{"twelve digits", AllowEntry{Key: "alias/orders", Account: "[0-9]*"}, "account"},
		{"every region", AllowEntry{Key: "alias/orders", Region: "*-*-*"}, "region"},
		{"star region", AllowEntry{Key: "alias/orders", Region: "*"}, "region"},

		{"one key", AllowEntry{Key: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}, ""},
		{"one key id", AllowEntry{Key: "1234abcd-12ab-34cd-56ef-1234567890ab"}, ""},
		{"key id prefix", AllowEntry{Key: "1234abcd-*"}, ""},
		{"alias prefix", AllowEntry{Alias: "alias/tmp-loadtest-*"}, ""},
		{"alias prefix as key", AllowEntry{Key: "alias/retired-*"}, ""},
		{"alias path", AllowEntry{Alias: "alias/team-a/**"}, ""},
		{"us regions only", AllowEntry{Key: "alias/orders", Region: "us-*"}, ""},
		{"one account", AllowEntry{Key: "alias/orders", Account: "111122223333"}, ""},
		{"omitted selectors", AllowEntry{Alias: "alias/orders"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			field, matches, ok := CatchAll(tc.entry)
			if ok != (tc.field != "") || field != tc.field {
				t.Errorf("CatchAll(%+v) = %q, %q, %v; want field %q", tc.entry, field, matches, ok, tc.field)
			}
			if ok && matches == "" {
				t.Error("a catch-all must say what it matches")
			}
		})
	}
}
