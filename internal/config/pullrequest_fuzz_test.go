package config

import (
	"io"
	"io/fs"
	"maps"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// strictness orders fail-on from loosest (none, 0) to strictest (low).
func strictness(s finding.Severity) int {
	if s == finding.SeverityNone {
		return 0
	}
	return int(finding.SeverityCritical) + 1 - int(s)
}

// FuzzForPullRequest feeds arbitrary base files to ForPullRequest against
// a loosening head file: it never fails (a bad base is read as unread) and
// the thresholds are never looser than the head's, the base's when it is
// valid, or the defaults' when it is not; remediation is never cancel when
// the base did not ask for it.
func FuzzForPullRequest(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte("fail-on: low\ncritical-days: 30\nhigh-days: 60\nremediate: cancel\n"))
	f.Add([]byte("on-scan-error: warn\nfail-on: none\n"))
	head := "fail-on: none\ncritical-days: 0\nhigh-days: 1\nremediate: cancel\non-scan-error: warn\nregions: eu-west-1\n"
	env := Env{
		Getenv: func(k string) string { return map[string]string{"GITHUB_EVENT_NAME": "pull_request"}[k] },
		ReadFile: func(p string) ([]byte, error) {
			if p == ".github/kms-deletion-gate.yml" {
				return []byte(head), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		},
		Now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC),
	}
	s, err := Load(nil, env, io.Discard)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, _, err := s.ForPullRequest(BaseFile{Path: "gate.yml", Data: data, Found: true})
		if err != nil {
			t.Fatalf("error %v", err)
		}
		floor := Settings{FailOn: finding.SeverityMedium, CriticalDays: 3, HighDays: 7, Remediate: RemediateNone, OnScanError: ScanErrorFail}
		if v, err := s.baseValues(BaseFile{Path: "gate.yml", Data: data, Found: true}); err == nil {
			var base Settings
			values := maps.Clone(s.layers.defaults)
			maps.Copy(values, v)
			base.apply(values)
			floor = base
		}
		if strictness(got.FailOn) < strictness(floor.FailOn) || got.CriticalDays < floor.CriticalDays || got.HighDays < floor.HighDays ||
			(floor.OnScanError == ScanErrorFail && got.OnScanError != ScanErrorFail) {
			t.Errorf("looser than the base or the defaults: got %+v, floor %+v", got, floor)
		}
		if got.Remediate == RemediateCancel && floor.Remediate != RemediateCancel {
			t.Errorf("remediate cancel from the pull request alone")
		}
	})
}
