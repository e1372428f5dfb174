package jsonreport_test

import (
	"encoding/json"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/jsonreport"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/testfixture"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/golden"
)

func TestJSONGolden(t *testing.T) {
	b, err := jsonreport.Marshal(testfixture.Result(), "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "report.json", b)
	var r jsonreport.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Result != "fail" || r.Counts.Critical != 1 || r.Counts.High != 1 || r.Counts.Medium != 1 || r.Counts.Low != 1 || r.Counts.Allowlisted != 1 || r.Counts.Total != 5 {
		t.Errorf("counts = %+v result %s", r.Counts, r.Result)
	}
	first := r.Findings[0]
	if first.DeletionDate == nil || *first.DeletionDate != "2026-11-26T16:00:00Z" || first.DaysLeft == nil || *first.DaysLeft != 2.17 {
		t.Errorf("first finding dates = %v %v", first.DeletionDate, first.DaysLeft)
	}
	if r.Findings[2].CancelCommand != "" || !r.Findings[2].Allowlisted || r.Findings[2].AllowReason == "" {
		t.Errorf("allowlisted finding = %+v", r.Findings[2])
	}
	if r.Findings[3].DeletionDate != nil || r.Findings[3].DaysLeft != nil {
		t.Error("a key without a deletion date must have null deletion_date and days_left")
	}
	if r.Coverage.Complete || len(r.Coverage.Errors) != 1 || r.Coverage.TargetsScanned != 3 {
		t.Errorf("coverage = %+v", r.Coverage)
	}
}

func TestJSONHostileIsValid(t *testing.T) {
	b, err := jsonreport.Marshal(testfixture.Hostile(), "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatal("hostile report is not valid JSON")
	}
	var r jsonreport.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Findings[0].Description) < 10000 {
		t.Error("the JSON report keeps full values (it is data, escaped by JSON encoding)")
	}
}
