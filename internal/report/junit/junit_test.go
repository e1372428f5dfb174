package junit

import (
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gojunit "github.com/joshdk/go-junit"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/testfixture"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/golden"
)

// schemas are the published JUnit schemas every document must satisfy.
var schemas = []string{"testdata/schema/JUnit.xsd", "testdata/schema/junit-10.xsd"}

// xmllint validates doc against each schema with libxml2's xmllint. It is
// required, never skipped: scripts/install-tools.sh xmllint installs it.
func xmllint(t *testing.T, doc []byte) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint not found: run scripts/install-tools.sh xmllint (apt-get install libxml2-utils)")
	}
	path := filepath.Join(t.TempDir(), "report.xml")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, xsd := range schemas {
		out, err := exec.Command(bin, "--noout", "--schema", xsd, path).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "validates") {
			t.Errorf("%s: %v\n%s", xsd, err, out)
		}
	}
}

func TestGoldenAndSchemas(t *testing.T) {
	t.Parallel()
	doc, err := Marshal(testfixture.Result())
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "report.xml", doc)
	xmllint(t, doc)
}

// TestConsumerReadsIt reads the document back with a real consumer's parser
// (github.com/joshdk/go-junit, used by CI dashboards) and checks what a CI
// would show: one case per target and per finding, with the right outcome.
func TestConsumerReadsIt(t *testing.T) {
	t.Parallel()
	res := testfixture.Result()
	doc, err := Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	suites, err := gojunit.Ingest(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(suites) != 2 {
		t.Fatalf("%d suites, want targets and findings", len(suites))
	}
	targets, findings := suites[0], suites[1]
	targets.Aggregate()
	findings.Aggregate()
	if got, want := targets.Totals.Tests, len(res.Scanned)+len(res.Errors); got != want {
		t.Errorf("%d target cases, want %d", got, want)
	}
	if targets.Totals.Error != 1 || targets.Totals.Passed != 3 {
		t.Errorf("targets totals %+v, want 3 passed and 1 error", targets.Totals)
	}
	if findings.Totals.Tests != len(res.Findings) {
		t.Errorf("%d finding cases, want %d", findings.Totals.Tests, len(res.Findings))
	}
	status := map[string]gojunit.Test{}
	for _, tc := range findings.Tests {
		status[tc.Name] = tc
	}
	var gating int
	for _, f := range res.Findings {
		tc, ok := status[f.Account+"/"+f.Region+"/"+f.KeyID]
		if !ok {
			t.Errorf("no case for %s", f.KeyID)
			continue
		}
		want := gojunit.StatusPassed
		switch {
		case f.Allowlisted:
			want = gojunit.StatusSkipped
		case f.Gating(res.FailOn):
			want = gojunit.StatusFailed
			gating++
			var e gojunit.Error
			if !errors.As(tc.Error, &e) || e.Type != f.Severity.String() || !strings.Contains(e.Body, f.ARN) {
				t.Errorf("%s: failure %#v", f.KeyID, tc.Error)
			}
		}
		if tc.Status != want {
			t.Errorf("%s (%s, allowlisted %v): status %s, want %s", f.KeyID, f.Severity, f.Allowlisted, tc.Status, want)
		}
	}
	if findings.Totals.Failed != gating || gating == 0 {
		t.Errorf("%d failures, want %d", findings.Totals.Failed, gating)
	}
	if findings.Properties["fail-on"] != "medium" {
		t.Errorf("properties %v", findings.Properties)
	}
}

func TestFailOnThreshold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		failOn finding.Severity
		want   int
	}{{finding.SeverityCritical, 1}, {finding.SeverityHigh, 2}, {finding.SeverityLow, 4}, {finding.SeverityNone, 0}} {
		res := testfixture.Result()
		res.FailOn = tc.failOn
		doc, err := Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		var got testsuites
		if err := xml.Unmarshal(doc, &got); err != nil {
			t.Fatal(err)
		}
		if got.Suites[1].Failures != tc.want {
			t.Errorf("fail-on %s: %d failures, want %d", tc.failOn, got.Suites[1].Failures, tc.want)
		}
	}
}

func TestHostileTextStaysData(t *testing.T) {
	t.Parallel()
	res := testfixture.Hostile()
	// Characters XML 1.0 forbids, even as references.
	res.Findings[0].KeyID = "k\x00\x01\x1b\uFFFE\uFFFF\xff]]><x>&amp;"
	res.Findings[1].ARN += "\x0b\x0c</failure><injected/>"
	res.Errors[0].Stage = "list-keys\x00\"'<>"
	doc, err := Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	xmllint(t, doc)
	dec := xml.NewDecoder(strings.NewReader(string(doc)))
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("the document does not parse: %v", err)
			}
			break
		}
		if se, ok := tok.(xml.StartElement); ok && (se.Name.Local == "x" || se.Name.Local == "injected") {
			t.Errorf("hostile text became an element <%s>", se.Name.Local)
		}
	}
	suites, err := gojunit.Ingest(doc)
	if err != nil {
		t.Fatal(err)
	}
	suites[1].Aggregate()
	if suites[1].Totals.Tests != len(res.Findings) {
		t.Errorf("%d cases after hostile input, want %d", suites[1].Totals.Tests, len(res.Findings))
	}
}

func TestEmptyRun(t *testing.T) {
	t.Parallel()
	doc, err := Marshal(finding.Result{ScanTime: testfixture.ScanTime, FailOn: finding.SeverityMedium, Passed: true})
	if err != nil {
		t.Fatal(err)
	}
	xmllint(t, doc)
}
