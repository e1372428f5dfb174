package annotations

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/golden"
)

var scanTime = time.Date(2026, 4, 28, 6, 0, 0, 0, time.UTC)

func key(i int, sev finding.Severity, locs ...finding.Location) finding.Finding {
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	return finding.Finding{
		RuleID: finding.RulePendingDeletion, Account: "111122223333", Region: "us-east-1", KeyID: id,
		ARN: "arn:aws:kms:us-east-1:111122223333:key/" + id, State: finding.StatePendingDeletion,
		DeletionDate: scanTime.Add(time.Duration(i+1) * 24 * time.Hour), DaysLeft: float64(i + 1), Severity: sev,
		Locations: locs,
	}
}

func fixture() finding.Result {
	crit := key(1, finding.SeverityCritical,
		finding.Location{Path: "infra/kms.tf", Line: 12, Match: "alias/orders"},
		finding.Location{Path: "cdk.out/App.template.json", Line: 40, Match: "00000000-0000-4000-8000-000000000001"})
	crit.Aliases = []string{"alias/orders"}
	crit.InUseReason = "used by Decrypt 12 days before the scan"
	crit.LastUse = &finding.KeyUse{Operation: "Decrypt", Time: scanTime.Add(-12 * 24 * time.Hour)}
	crit.UsageTracked = true
	allowed := key(2, finding.SeverityHigh, finding.Location{Path: "legacy.tf", Line: 3, Match: "alias/legacy"})
	allowed.Allowlisted = true
	medium := key(3, finding.SeverityMedium, finding.Location{Path: "app/template.yaml", Line: 7, Match: "alias/app"})
	medium.UsageTracked = true
	noLoc := key(4, finding.SeverityHigh)
	disabled := key(5, finding.SeverityLow, finding.Location{Path: "old.tf", Line: 1, Match: "alias/old"})
	disabled.RuleID, disabled.State, disabled.DeletionDate, disabled.DaysLeft = finding.RuleDisabled, finding.StateDisabled, time.Time{}, 0
	replica := key(6, finding.SeverityMedium)
	replica.RuleID, replica.State, replica.DeletionDate = finding.RulePendingReplicaDeletion, finding.StatePendingReplicaDeletion, time.Time{}
	return finding.Result{ScanTime: scanTime, Findings: []finding.Finding{medium, crit, allowed, noLoc, disabled, replica}}
}

func write(t testing.TB, res finding.Result, opts Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, res, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
	checkCommands(t, b.String())
	return b.String()
}

func TestWriteGolden(t *testing.T) {
	t.Parallel()
	got := write(t, fixture(), Options{Fileless: true})
	golden.Check(t, "golden.txt", []byte(got))
}

func TestWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		res  finding.Result
		opts Options
		// want lists each line's prefix, up to "::" after the properties.
		want []string
	}{
		{
			name: "file locations only by default, most severe first, allowlisted never",
			res:  fixture(),
			want: []string{
				"::error file=infra/kms.tf,line=12,title=KMS key alias/orders is pending deletion (critical)::",
				"::error file=cdk.out/App.template.json,line=40,title=KMS key alias/orders is pending deletion (critical)::",
				"::warning file=app/template.yaml,line=7,title=KMS key 00000000-0000-4000-8000-000000000003 is pending deletion (medium)::",
				"::notice file=old.tf,line=1,title=KMS key 00000000-0000-4000-8000-000000000005 is disabled (low)::",
			},
		},
		{
			name: "fileless findings when asked",
			res:  finding.Result{Findings: []finding.Finding{key(1, finding.SeverityHigh)}},
			opts: Options{Fileless: true},
			want: []string{"::error title=KMS key 00000000-0000-4000-8000-000000000001 is pending deletion (high)::"},
		},
		{
			name: "nothing to annotate",
			res:  finding.Result{Findings: []finding.Finding{key(1, finding.SeverityHigh)}},
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := write(t, tc.res, tc.opts)
			lines := splitLines(out)
			if len(lines) != len(tc.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tc.want), out)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("line %d = %q\nwant prefix %q", i+1, lines[i], w)
				}
			}
		})
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	var res finding.Result
	for i := range 15 {
		res.Findings = append(res.Findings, key(i, finding.SeverityCritical, finding.Location{Path: "c.tf", Line: i + 1, Match: "x"}))
	}
	for i := range 3 {
		res.Findings = append(res.Findings, key(100+i, finding.SeverityMedium, finding.Location{Path: "m.tf", Line: i + 1, Match: "x"}))
	}
	for i := range 12 {
		res.Findings = append(res.Findings, key(200+i, finding.SeverityLow, finding.Location{Path: "l.tf", Line: i + 1, Match: "x"}))
	}
	tests := []struct {
		name                 string
		opts                 Options
		errs, warns, notices int
		omitted              int
	}{
		{"github limits", Options{}, 10, 3, 9 + 1, 5 + 3},
		{"lower limit", Options{MaxPerLevel: 2}, 2, 2, 1 + 1, 13 + 1 + 11},
		{"limit above github's is capped", Options{MaxPerLevel: 50}, 10, 3, 10, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := write(t, res, tc.opts)
			count := map[string]int{}
			for _, l := range splitLines(out) {
				count[strings.SplitN(l[2:], " ", 2)[0]]++
			}
			if count["error"] != tc.errs || count["warning"] != tc.warns || count["notice"] != tc.notices {
				t.Errorf("counts = %v, want %d/%d/%d", count, tc.errs, tc.warns, tc.notices)
			}
			summary := fmt.Sprintf("%d more annotations were left out", tc.omitted)
			if !strings.Contains(out, summary) {
				t.Errorf("no summary %q in:\n%s", summary, out)
			}
			// The most severe (soonest) come first.
			if !strings.HasPrefix(out, "::error file=c.tf,line=1,") {
				t.Errorf("first line: %.60s", out)
			}
		})
	}
}

func TestLevelOf(t *testing.T) {
	t.Parallel()
	tests := map[finding.Severity]Level{
		finding.SeverityCritical: LevelError, finding.SeverityHigh: LevelError,
		finding.SeverityMedium: LevelWarning, finding.SeverityLow: LevelNotice,
	}
	for sev, want := range tests {
		if got := LevelOf(sev); got != want {
			t.Errorf("LevelOf(%s) = %s, want %s", sev, got, want)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

func TestWriteError(t *testing.T) {
	t.Parallel()
	if err := Write(failWriter{}, fixture(), Options{}); err == nil {
		t.Fatal("Write to a failing writer succeeded")
	}
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// unescapeProperty reverses escape.WorkflowProperty the way the runner does.
func unescapeProperty(s string) string {
	r := strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%")
	return r.Replace(s)
}

// checkCommands parses out as the runner would and fails unless every line is
// exactly one intended annotation command.
func checkCommands(t testing.TB, out string) {
	t.Helper()
	if out != "" && !strings.HasSuffix(out, "\n") {
		t.Fatalf("output does not end with a newline: %q", out)
	}
	if strings.ContainsAny(out, "\r\u2028\u2029\u0085") {
		t.Fatalf("output holds a line break other than \\n: %q", out)
	}
	for i, line := range splitLines(out) {
		name, rest, ok := strings.Cut(strings.TrimPrefix(line, "::"), "::")
		if !strings.HasPrefix(line, "::") || !ok {
			t.Fatalf("line %d is not a command: %q", i+1, line)
		}
		_ = rest
		cmd, props, _ := strings.Cut(name, " ")
		if cmd != "error" && cmd != "warning" && cmd != "notice" {
			t.Fatalf("line %d: command %q", i+1, cmd)
		}
		seen := map[string]bool{}
		for _, p := range strings.Split(props, ",") {
			if props == "" {
				break
			}
			k, v, ok := strings.Cut(p, "=")
			if !ok || seen[k] || (k != "file" && k != "line" && k != "title") {
				t.Fatalf("line %d: unexpected property %q in %q", i+1, p, line)
			}
			seen[k] = true
			if k == "line" && strings.Trim(v, "0123456789") != "" {
				t.Fatalf("line %d: line=%q", i+1, v)
			}
		}
	}
}

func FuzzWrite(f *testing.F) {
	f.Add("alias/orders", "Orders key", "infra/kms.tf", "used recently", 12, uint8(4))
	f.Add("::add-mask::x", "a\nb\r\n::error::x", "a,title=x::y.tf", "%0A::warning::", 0, uint8(3))
	f.Add("@org/team <img src=x> |", "\u2028\u0085##[group]", "dir\n::error file=x::y", "%25%0D", -5, uint8(1))
	f.Fuzz(func(t *testing.T, alias, desc, path, reason string, line int, sev uint8) {
		fd := key(1, finding.Severity(sev%5), finding.Location{Path: path, Line: line, Match: alias})
		fd.Aliases = []string{alias}
		fd.Description = desc
		fd.InUseReason = reason
		fd.Account = alias
		fd.Region = desc
		fd.KeyID = reason
		fd.LastUse = &finding.KeyUse{Operation: desc, Time: scanTime}
		other := key(2, finding.SeverityHigh)
		other.Aliases = []string{path}
		res := finding.Result{ScanTime: scanTime, Findings: []finding.Finding{fd, other}}
		var b bytes.Buffer
		if err := Write(&b, res, Options{Fileless: true}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		checkCommands(t, out)
		lines := splitLines(out)
		want := 1
		if fd.Severity > finding.SeverityNone {
			want = 2
		}
		if len(lines) != want {
			t.Fatalf("%d lines, want %d: %q", len(lines), want, out)
		}
		if fd.Severity > finding.SeverityNone && escape.PlainText(path, 1024) != "" {
			// The file property round-trips to the (sanitised) path.
			var file string
			for _, l := range lines {
				props := strings.SplitN(strings.SplitN(l, "::", 3)[1], " ", 2)
				if len(props) == 2 && strings.HasPrefix(props[1], "file=") {
					file = strings.TrimPrefix(strings.Split(props[1], ",")[0], "file=")
				}
			}
			if got := unescapeProperty(file); got != escape.PlainText(path, 1024) {
				t.Fatalf("file=%q unescapes to %q, want %q", file, got, escape.PlainText(path, 1024))
			}
		}
	})
}
