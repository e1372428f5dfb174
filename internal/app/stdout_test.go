package app_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

var tableHeader = []string{"SEVERITY", "TIME LEFT", "DELETION DATE", "ACCOUNT", "REGION", "KEY", "ALIASES", "STATE", "ALLOWLISTED"}

// cellGap is tabwriter's padding: cells hold no run of two spaces.
var cellGap = regexp.MustCompile(` {2,}`)

// parseTable reads stdout as the CLI's table and nothing else: a header and
// one row per finding (or the no-finding line), a blank line, the Result
// line, then one line per scan error. Anything else, a log line above all,
// fails the test.
func parseTable(t *testing.T, stdout string) (rows []map[string]string, result string, scanErrors []string) {
	t.Helper()
	if !strings.HasSuffix(stdout, "\n") {
		t.Fatalf("stdout does not end with a newline:\n%s", stdout)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	i := 0
	switch {
	case lines[0] == "No customer managed key is pending deletion.":
		i = 1
	case strings.Join(cellGap.Split(strings.TrimSpace(lines[0]), -1), "|") == strings.Join(tableHeader, "|"):
		for i = 1; i < len(lines) && lines[i] != ""; i++ {
			cells := cellGap.Split(strings.TrimSpace(lines[i]), -1)
			if len(cells) != len(tableHeader) {
				t.Fatalf("stdout line %d has %d cells, want %d: %q\n%s", i+1, len(cells), len(tableHeader), lines[i], stdout)
			}
			row := map[string]string{}
			for j, h := range tableHeader {
				row[h] = cells[j]
			}
			if !regexp.MustCompile(`^(critical|high|medium|low)$`).MatchString(row["SEVERITY"]) {
				t.Fatalf("stdout line %d is not a table row: %q\n%s", i+1, lines[i], stdout)
			}
			rows = append(rows, row)
		}
	default:
		t.Fatalf("stdout does not start with the table: %q\n%s", lines[0], stdout)
	}
	if i+1 >= len(lines) || lines[i] != "" || !strings.HasPrefix(lines[i+1], "Result: ") {
		t.Fatalf("stdout lacks a blank line then the Result line after the rows:\n%s", stdout)
	}
	result = lines[i+1]
	for _, l := range lines[i+2:] {
		if !strings.HasPrefix(l, "  scan error: ") {
			t.Fatalf("stdout holds a line that is not the table's: %q\n%s", l, stdout)
		}
		scanErrors = append(scanErrors, l)
	}
	return rows, result, scanErrors
}

// TestCLIStdoutIsTheTable: outside Actions, `kms-deletion-gate ... | ...`
// pipes the table alone; the log, warnings included, goes to stderr.
func TestCLIStdoutIsTheTable(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	s := seed(t, srv, "us-east-1")
	var approved, expired string
	for id, days := range s.pending {
		switch days {
		case 25:
			approved = id
		case 2:
			expired = id
		}
	}
	cfg := filepath.Join(t.TempDir(), "kdg.yml")
	yml := "allow:\n" +
		"  - key: " + approved + "\n    reason: retired (CHG-1)\n    expires: " + soon() + "\n" +
		"  - key: " + expired + "\n    reason: old approval\n    expires: 2020-01-01\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}

	r := runApp(t, []string{"--regions", "us-east-1", "--config", cfg}, nil)
	if r.code != app.ExitFail {
		t.Fatalf("exit %d, want 1\nstderr:\n%s", r.code, r.stderr)
	}
	rows, result, scanErrors := parseTable(t, r.stdout)
	if len(rows) != len(s.pending) || len(scanErrors) != 0 {
		t.Errorf("%d rows and scan errors %v, want %d rows and none:\n%s", len(rows), scanErrors, len(s.pending), r.stdout)
	}
	wantSev := map[int]string{2: "critical", 6: "high", 25: "medium"}
	for _, row := range rows {
		days, ok := s.pending[row["KEY"]]
		if !ok || row["SEVERITY"] != wantSev[days] || row["REGION"] != "us-east-1" || row["ALIASES"] != s.aliases[row["KEY"]] {
			t.Errorf("row %v does not match the seeded key", row)
		}
		if allowed := row["KEY"] == approved; allowed != strings.HasPrefix(row["ALLOWLISTED"], "yes (retired (CHG-1))") {
			t.Errorf("row %v: allowlisted %q, want approved=%v", row, row["ALLOWLISTED"], allowed)
		}
	}
	if !strings.HasPrefix(result, "Result: FAIL") || !strings.Contains(result, "1 allowlisted") {
		t.Errorf("result line = %q", result)
	}

	for _, want := range []string{"Config file: " + cfg, "== Scanning account/region targets", "1 account/region target(s) scanned.", "warning: allowlist entry at " + cfg + ":", "JSON report: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "SEVERITY") || strings.Contains(r.stderr, "Result: ") {
		t.Errorf("the table leaked into stderr:\n%s", r.stderr)
	}
}

func TestHelpGoesToStdout(t *testing.T) {
	r := runAppArgs(t, []string{"--help"}, nil)
	if r.code != app.ExitPass || !strings.Contains(r.stdout, "Usage: kms-deletion-gate") || r.stderr != "" {
		t.Errorf("exit %d; stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
