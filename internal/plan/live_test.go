package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// TestFindingsLookUpLiveKeys runs the lookup against moto through the SDK:
// a live key gets its metadata and aliases, a key already gone is reported
// as not live without a warning, and deletions that cannot be looked up
// still give findings, with a warning each.
func TestFindingsLookUpLiveKeys(t *testing.T) {
	t.Parallel()
	srv := moto.Start(t)
	ctx := moto.Context(t)
	client := kms.NewFromConfig(srv.Config("us-east-1"))
	key, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("orders ledger")})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"alias/orders", "alias/ledger"} {
		if _, err := client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(a), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
			t.Fatal(err)
		}
	}
	live := aws.ToString(key.KeyMetadata.Arn)
	account := aws.ToString(key.KeyMetadata.AWSAccountId)
	region, _, id, _ := ParseKeyARN(live)
	gone := fmt.Sprintf("arn:aws:kms:us-east-1:%s:key/0a1b2c3d-1111-4a4a-8b8b-0123456789ab", account)
	decl := &finding.Location{Path: "infra/main.tf", Line: 12, Match: "aws_kms_key.orders"}
	deletions := []Deletion{
		{Tool: ToolTerraform, Source: "tfplan.json", Address: "aws_kms_key.orders", Replace: true, ARN: live, KeyID: id, Region: region, Account: account, Declared: decl},
		{Tool: ToolTerraform, Source: "tfplan.json", Address: "aws_kms_key.gone", ARN: gone, KeyID: "0a1b2c3d-1111-4a4a-8b8b-0123456789ab", Region: "us-east-1", Account: account},
		{Tool: ToolTerraform, Source: "tfplan.json", Address: "aws_kms_key.secret", Withheld: true},
		{Tool: ToolCloudFormation, Source: "cs.json", Address: "OtherKey", KeyID: id, Region: "us-east-1", Account: "444455556666", ARN: "arn:aws:kms:us-east-1:444455556666:key/" + id},
	}
	clients := func(acct, _ string) KeyAPI {
		if acct != account {
			return nil
		}
		return client
	}
	got, warns := Findings(ctx, deletions, clients, 4)
	if len(got) != len(deletions) {
		t.Fatalf("%d findings for %d deletions", len(got), len(deletions))
	}
	f := got[0]
	if f.RuleID != finding.RuleDeletionPlanned || !f.Planned.Live || f.State != finding.StateEnabled || f.Description != "orders ledger" ||
		strings.Join(f.Aliases, ",") != "alias/ledger,alias/orders" || f.ARN != live || f.Account != account {
		t.Errorf("live key: %+v (planned %+v)", f, f.Planned)
	}
	if f.Planned.Action != "replace" || f.Planned.Declared == nil || *f.Planned.Declared != *decl || len(f.Locations) != 1 {
		t.Errorf("planned change: %+v, locations %v", f.Planned, f.Locations)
	}
	for i, want := range []bool{true, false, false, false} {
		if got[i].Planned.Live != want {
			t.Errorf("finding %d (%s): live %v, want %v", i, got[i].Planned.Address, got[i].Planned.Live, want)
		}
	}
	if len(warns) != 2 || !strings.Contains(warns[0], "aws_kms_key.secret") || !strings.Contains(warns[0], "sensitive") ||
		!strings.Contains(warns[1], "OtherKey") || !strings.Contains(warns[1], "444455556666 is not among the scanned accounts") {
		t.Errorf("warnings %q", warns)
	}
}
