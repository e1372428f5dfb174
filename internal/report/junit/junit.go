// Package junit writes the run as JUnit XML, the test report GitLab, Jenkins
// and CircleCI read: one test case per account/Region target (an error when
// it could not be scanned) and one per finding (a failure when it is not
// approved and at or above fail-on, skipped when the allowlist accepts it).
// The document is valid against the Apache Ant JUnit schema (windyroad) and
// Jenkins' xUnit junit-10 schema; every text from AWS is escaped by
// encoding/xml after characters XML 1.0 forbids are replaced.
package junit

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"sort"
	"strings"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
)

// Class names of the test cases: stable, so CI tools track them across runs.
const (
	targetClass = "kms-deletion-gate.targets"
	packageName = "kms-deletion-gate"
)

// Limits on untrusted text, in runes.
const (
	maxAttr = 300
	maxLine = 500
)

type testsuites struct {
	XMLName xml.Name    `xml:"testsuites"`
	Suites  []testsuite `xml:"testsuite"`
}

type testsuite struct {
	Name       string     `xml:"name,attr"`
	Package    string     `xml:"package,attr"`
	ID         int        `xml:"id,attr"`
	Timestamp  string     `xml:"timestamp,attr"`
	Hostname   string     `xml:"hostname,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Errors     int        `xml:"errors,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Time       string     `xml:"time,attr"`
	Properties []property `xml:"properties>property"`
	Cases      []testcase `xml:"testcase"`
	SystemOut  string     `xml:"system-out"`
	SystemErr  string     `xml:"system-err"`
}

type property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type testcase struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Time      string   `xml:"time,attr"`
	Failure   *problem `xml:"failure,omitempty"`
	Error     *problem `xml:"error,omitempty"`
	Skipped   *skipped `xml:"skipped,omitempty"`
}

type problem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type skipped struct {
	Message string `xml:"message,attr"`
}

// Marshal renders the result as a JUnit XML document.
func Marshal(res finding.Result) ([]byte, error) {
	doc := testsuites{Suites: []testsuite{targets(res), findings(res)}}
	for i := range doc.Suites {
		s := &doc.Suites[i]
		s.ID, s.Package, s.Hostname, s.Time = i, packageName, "localhost", "0"
		s.Timestamp = res.ScanTime.UTC().Format("2006-01-02T15:04:05")
		s.Tests = len(s.Cases)
		s.Properties = properties(res)
		for _, c := range s.Cases {
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Error != nil:
				s.Errors++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode JUnit XML: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func properties(res finding.Result) []property {
	return []property{
		{"fail-on", res.FailOn.String()},
		{"result", report.Verdict(res)},
		{"keys-seen", fmt.Sprint(res.KeysSeen)},
	}
}

// targets has a case per account/Region the run meant to scan.
func targets(res finding.Result) testsuite {
	s := testsuite{Name: "kms-deletion-gate targets"}
	failed := map[string][]finding.ScanError{}
	var order []string
	for _, e := range res.Errors {
		k := targetName(e.Account, e.Region)
		if _, ok := failed[k]; !ok {
			order = append(order, k)
		}
		failed[k] = append(failed[k], e)
	}
	seen := map[string]bool{}
	for _, t := range res.Scanned {
		k := targetName(t.Account, t.Region)
		if seen[k] || failed[k] != nil {
			continue
		}
		seen[k] = true
		s.Cases = append(s.Cases, testcase{Name: k, Classname: targetClass, Time: "0"})
	}
	for _, k := range order {
		errs := failed[k]
		var lines []string
		for _, e := range errs {
			lines = append(lines, text(e.Stage, 64)+": "+text(e.Message, maxLine))
		}
		s.Cases = append(s.Cases, testcase{Name: k, Classname: targetClass, Time: "0", Error: &problem{
			Type:    "scan-error",
			Message: attr(errs[0].Stage + ": " + errs[0].Message),
			Text:    strings.Join(lines, "\n"),
		}})
	}
	sort.SliceStable(s.Cases, func(i, j int) bool { return s.Cases[i].Name < s.Cases[j].Name })
	return s
}

func targetName(account, region string) string {
	if region == "" {
		region = "all Regions"
	}
	return attr(account) + "/" + attr(region)
}

// findings has a case per finding.
func findings(res finding.Result) testsuite {
	s := testsuite{Name: "kms-deletion-gate findings"}
	for _, f := range res.Findings {
		c := testcase{
			Name:      attr(f.Account) + "/" + attr(f.Region) + "/" + attr(f.KeyID),
			Classname: "kms-deletion-gate." + attr(f.RuleID),
			Time:      "0",
		}
		switch {
		case f.Allowlisted:
			c.Skipped = &skipped{Message: attr("accepted by the allowlist: " + f.AllowReason)}
		case f.Gating(res.FailOn):
			c.Failure = &problem{Type: f.Severity.String(), Message: attr(summary(f)), Text: details(f, res)}
		}
		s.Cases = append(s.Cases, c)
	}
	return s
}

func summary(f finding.Finding) string {
	s := f.Severity.String() + ": " + f.State
	if !f.DeletionDate.IsZero() {
		s += ", deleted on " + report.DeletionDate(f) + " (" + report.TimeLeft(f) + " left)"
	}
	if f.InUseReason != "" {
		s += "; still needed: " + f.InUseReason
	}
	return s
}

func details(f finding.Finding, res finding.Result) string {
	lines := []string{
		"Key: " + text(f.ARN, maxLine),
		"State: " + text(f.State, 64),
		"Severity: " + f.Severity.String() + " (the gate fails at " + res.FailOn.String() + " or above)",
		"Deletion date: " + report.DeletionDate(f) + " (" + report.TimeLeft(f) + " left)",
		"Last use: " + text(report.LastUse(f, res.ScanTime), maxLine),
	}
	if len(f.Aliases) > 0 {
		var as []string
		for _, a := range f.Aliases {
			as = append(as, text(a, 256))
		}
		lines = append(lines, "Aliases: "+strings.Join(as, ", "))
	}
	if f.Description != "" {
		lines = append(lines, "Description: "+text(f.Description, maxLine))
	}
	if by := report.ScheduledBy(f); by != "" {
		lines = append(lines, "Scheduled by: "+text(by, maxLine))
	}
	if f.InUseReason != "" {
		lines = append(lines, "Still needed: "+text(f.InUseReason, maxLine))
	}
	if f.State == finding.StatePendingDeletion {
		lines = append(lines, "Cancel: "+text(f.CancelCommand(), maxLine))
	}
	return strings.Join(lines, "\n")
}

// text makes one line of untrusted text safe for XML character data:
// control and bidi characters, invalid UTF-8 and newlines are replaced
// (encoding/xml also turns what XML 1.0 forbids, such as U+FFFE, into
// U+FFFD), and the line is cut to max runes.
func text(s string, max int) string { return xmlChars(escape.PlainText(s, max)) }

func attr(s string) string { return text(s, maxAttr) }

// xmlChars replaces what XML 1.0 forbids (Char production) with U+FFFD.
func xmlChars(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD,
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, s)
}
