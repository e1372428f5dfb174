package scan_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/scan"
)

// answers is a KMS double whose answers a case shapes: what a broken or
// hostile endpoint returns that the SDK still parses.
type answers struct {
	listKeys    func(marker *string) *kms.ListKeysOutput
	describe    func(id string) *kms.DescribeKeyOutput
	listAliases func(marker *string) *kms.ListAliasesOutput
}

func (a answers) ListKeys(_ context.Context, in *kms.ListKeysInput, _ ...func(*kms.Options)) (*kms.ListKeysOutput, error) {
	return a.listKeys(in.Marker), nil
}

func (a answers) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	return a.describe(aws.ToString(in.KeyId)), nil
}

func (a answers) ListAliases(_ context.Context, in *kms.ListAliasesInput, _ ...func(*kms.Options)) (*kms.ListAliasesOutput, error) {
	if a.listAliases != nil {
		return a.listAliases(in.Marker), nil
	}
	return &kms.ListAliasesOutput{Aliases: []types.AliasListEntry{}}, nil
}

func (a answers) ListResourceTags(context.Context, *kms.ListResourceTagsInput, ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error) {
	return &kms.ListResourceTagsOutput{}, nil
}

const (
	goodID  = "1234abcd-12ab-34cd-56ef-1234567890ab"
	otherID = "1234abcd-12ab-34cd-56ef-0000000000ff"
)

var scanNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func twoKeys(*string) *kms.ListKeysOutput {
	return &kms.ListKeysOutput{Keys: []types.KeyListEntry{{KeyId: aws.String(goodID)}, {KeyId: aws.String(otherID)}}}
}

func pending(id string, deletion *time.Time) *kms.DescribeKeyOutput {
	return &kms.DescribeKeyOutput{KeyMetadata: &types.KeyMetadata{
		KeyId: aws.String(id), KeyManager: types.KeyManagerTypeCustomer, KeyState: types.KeyStatePendingDeletion, DeletionDate: deletion,
	}}
}

func describeOther(bad *kms.DescribeKeyOutput) func(string) *kms.DescribeKeyOutput {
	return func(id string) *kms.DescribeKeyOutput {
		if id == otherID {
			return bad
		}
		return pending(id, aws.Time(scanNow.Add(10*24*time.Hour)))
	}
}

// Answers missing what the KMS API reference promises fail closed: the key
// or the Region is a scan error, never a silent pass.
func TestMalformedAnswersAreScanErrors(t *testing.T) {
	t.Parallel()
	far := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		api  answers
		// wantTarget: the Region as a whole is an error; else only otherID.
		wantTarget   bool
		wantMessage  string
		wantFindings int
		wantDateless bool // otherID is still a finding, without a date
	}{
		{name: "Keys null", api: answers{listKeys: func(*string) *kms.ListKeysOutput { return &kms.ListKeysOutput{} }}, wantTarget: true, wantMessage: "without its Keys list"},
		{name: "key without KeyId", api: answers{listKeys: func(*string) *kms.ListKeysOutput {
			return &kms.ListKeysOutput{Keys: []types.KeyListEntry{{KeyId: aws.String(goodID)}, {KeyArn: aws.String("arn:aws:kms:us-east-1:111122223333:key/x")}}}
		}, describe: describeOther(nil)}, wantTarget: true, wantMessage: "without a KeyId", wantFindings: 1},
		{name: "ListKeys truncated without NextMarker", api: answers{listKeys: func(*string) *kms.ListKeysOutput {
			return &kms.ListKeysOutput{Keys: []types.KeyListEntry{{KeyId: aws.String(goodID)}}, Truncated: true}
		}, describe: describeOther(nil)}, wantTarget: true, wantMessage: "ListKeys answered Truncated without a NextMarker", wantFindings: 1},
		{name: "ListKeys repeats its NextMarker", api: answers{listKeys: func(*string) *kms.ListKeysOutput {
			return &kms.ListKeysOutput{Keys: []types.KeyListEntry{}, Truncated: true, NextMarker: aws.String("m")}
		}}, wantTarget: true, wantMessage: "same NextMarker twice"},
		{name: "ListAliases truncated without NextMarker", api: answers{listKeys: twoKeys, describe: describeOther(pending(otherID, aws.Time(scanNow.Add(24*time.Hour)))),
			listAliases: func(*string) *kms.ListAliasesOutput {
				return &kms.ListAliasesOutput{Aliases: []types.AliasListEntry{}, Truncated: true}
			}}, wantTarget: true, wantMessage: "ListAliases answered Truncated without a NextMarker", wantFindings: 2},
		{name: "KeyMetadata null", api: answers{listKeys: twoKeys, describe: describeOther(&kms.DescribeKeyOutput{})}, wantMessage: "without KeyMetadata", wantFindings: 1},
		{name: "KeyMetadata without KeyId", api: answers{listKeys: twoKeys, describe: describeOther(&kms.DescribeKeyOutput{KeyMetadata: &types.KeyMetadata{KeyManager: types.KeyManagerTypeCustomer, KeyState: types.KeyStatePendingDeletion}})}, wantMessage: "without KeyMetadata.KeyId", wantFindings: 1},
		{name: "KeyMetadata without KeyState", api: answers{listKeys: twoKeys, describe: describeOther(&kms.DescribeKeyOutput{KeyMetadata: &types.KeyMetadata{KeyId: aws.String(otherID), KeyManager: types.KeyManagerTypeCustomer}})}, wantMessage: "without KeyMetadata.KeyState", wantFindings: 1},
		{name: "KeyMetadata without KeyManager", api: answers{listKeys: twoKeys, describe: describeOther(&kms.DescribeKeyOutput{KeyMetadata: &types.KeyMetadata{KeyId: aws.String(otherID), KeyState: types.KeyStatePendingDeletion}})}, wantMessage: "without KeyMetadata.KeyManager", wantFindings: 1},
		{name: "DeletionDate 9999-12-31", api: answers{listKeys: twoKeys, describe: describeOther(pending(otherID, &far))}, wantMessage: "deletion date out of range", wantFindings: 2, wantDateless: true},
		{name: "DeletionDate 32 days out", api: answers{listKeys: twoKeys, describe: describeOther(pending(otherID, aws.Time(scanNow.Add(32*24*time.Hour))))}, wantMessage: "deletion date out of range", wantFindings: 2, wantDateless: true},
		{name: "DeletionDate 1816", api: answers{listKeys: twoKeys, describe: describeOther(pending(otherID, aws.Time(time.Date(1816, 3, 1, 0, 0, 0, 0, time.UTC))))}, wantMessage: "deletion date out of range", wantFindings: 2, wantDateless: true},
		{name: "pending without DeletionDate", api: answers{listKeys: twoKeys, describe: describeOther(pending(otherID, nil))}, wantMessage: "without a DeletionDate", wantFindings: 2, wantDateless: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := scan.Scan(context.Background(), []scan.Target{{Account: "111122223333", Region: "us-east-1", Client: tc.api}}, scan.Options{Concurrency: 4, Now: scanNow})
			if len(out.Errors) != 1 {
				t.Fatalf("errors = %+v, want exactly one", out.Errors)
			}
			e := out.Errors[0]
			if !strings.Contains(e.Message, "malformed answer") || !strings.Contains(e.Message, tc.wantMessage) {
				t.Errorf("message %q, want it to say malformed answer: %s", e.Message, tc.wantMessage)
			}
			if tc.wantTarget {
				if e.KeyID != "" || len(out.Scanned) != 0 {
					t.Errorf("want the Region unscanned: error %+v, scanned %v", e, out.Scanned)
				}
			} else if e.KeyID != otherID {
				t.Errorf("want a per-key error naming %s, got %+v", otherID, e)
			}
			if len(out.Findings) != tc.wantFindings {
				t.Fatalf("%d findings, want %d: %+v", len(out.Findings), tc.wantFindings, out.Findings)
			}
			for _, f := range out.Findings {
				if f.KeyID == otherID && tc.wantDateless && (!f.DeletionDate.IsZero() || f.RuleID != finding.RulePendingDeletion) {
					t.Errorf("the malformed key's finding keeps date %v (rule %s)", f.DeletionDate, f.RuleID)
				}
			}
		})
	}
}
