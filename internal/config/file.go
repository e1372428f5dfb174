package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"go.yaml.in/yaml/v3"
)

// AllowEntry is one accepted deletion. A finding matches when every selector
// given matches: Key (glob over the ARN, key id or any alias), Alias (glob over
// any alias), Account and Region (globs, usually exact).
type AllowEntry struct {
	Key     string
	Alias   string
	Account string
	Region  string
	Reason  string
	// Expires is the last day (UTC) the entry applies.
	Expires time.Time
	// Source is "file:line" of the entry, for warnings.
	Source string

	// where the entry and its expires field are, for errors found after
	// parsing (an expiry beyond max-allow-days).
	path, field string
	expiresLine int
}

// Expired reports whether the entry no longer applies at now.
func (e AllowEntry) Expired(now time.Time) bool {
	return !now.UTC().Before(e.Expires.AddDate(0, 0, 1))
}

// ExpiresText is the date as written (YYYY-MM-DD).
func (e AllowEntry) ExpiresText() string { return e.Expires.Format(time.DateOnly) }

type parsedFile struct {
	settings map[string]value
	allow    []AllowEntry
}

const maxAllowEntries = 10000

var (
	kmsARNPattern   = regexp.MustCompile(`^arn:[a-z*?-]+:kms:[a-z0-9*?-]*:[0-9*?]*:(key|alias)/.+$`)
	accountGlob     = regexp.MustCompile(`^[0-9*?\[\]-]{1,12}$`)
	regionGlob      = regexp.MustCompile(`^[a-z0-9*?\[\]-]+$`)
	dateOnlyPattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// parseBounded parses a config file's content after checking its size
// (maxConfigBytes), whichever way it was read: from disk, or the base
// branch's through the contents API.
func parseBounded(path string, data []byte) (*parsedFile, error) {
	if len(data) > maxConfigBytes {
		return nil, &Error{Source: path, Msg: fmt.Sprintf("config file is %d bytes, more than the %d allowed", len(data), maxConfigBytes)}
	}
	return parseFile(path, data)
}

func parseFile(path string, data []byte) (*parsedFile, error) {
	// A decoder, not yaml.Unmarshal: Unmarshal reads the first document and
	// silently drops any after a "---", allowlist entries included.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(path, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlError(path, err)
	case len(extra.Content) > 0 && extra.Content[0].Tag != "!!null":
		return nil, &Error{Source: path, Line: extra.Content[0].Line, Msg: "a second YAML document (after ---) is not allowed: put every setting and the allowlist in one document"}
	}
	out := &parsedFile{settings: map[string]value{}}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return out, nil // empty file
	}
	root := doc.Content[0]
	if err := noAliases(path, root); err != nil {
		return nil, err
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Source: path, Line: root.Line, Msg: "the config file must be a mapping (settings and allow:)"}
	}
	inFile := map[string]bool{}
	for _, in := range Inputs {
		if in.InFile {
			inFile[in.Name] = true
		}
	}
	var errs []error
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		name := k.Value
		if line, dup := seen[name]; dup {
			errs = append(errs, &Error{Source: path, Line: k.Line, Field: name, Msg: fmt.Sprintf("given twice (first on line %d)", line)})
			continue
		}
		seen[name] = k.Line
		switch {
		case name == "allow":
			entries, entryErrs := parseAllow(path, v)
			out.allow = entries
			errs = append(errs, entryErrs...)
		case inFile[name]:
			text, err := scalarOrList(v)
			if err != nil {
				errs = append(errs, &Error{Source: path, Line: v.Line, Field: name, Msg: err.Error()})
				continue
			}
			out.settings[name] = value{text: text, source: path, line: v.Line, field: name}
		default:
			errs = append(errs, &Error{Source: path, Line: k.Line, Field: name, Msg: fmt.Sprintf("unknown field (known: allow, %s)", strings.Join(fileKeys(), ", "))})
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return out, nil
}

func fileKeys() []string {
	var keys []string
	for _, in := range Inputs {
		if in.InFile {
			keys = append(keys, in.Name)
		}
	}
	return keys
}

// noAliases refuses YAML anchors and aliases: an allowlist needs none, and
// refusing them removes alias-expansion bombs.
func noAliases(path string, n *yaml.Node) error {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return &Error{Source: path, Line: n.Line, Msg: "YAML anchors and aliases are not allowed in the config file"}
	}
	for _, c := range n.Content {
		if err := noAliases(path, c); err != nil {
			return err
		}
	}
	return nil
}

func scalarOrList(v *yaml.Node) (string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return "", nil
		}
		return strings.TrimSpace(v.Value), nil
	case yaml.SequenceNode:
		var parts []string
		for _, c := range v.Content {
			if c.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("list items must be plain values")
			}
			parts = append(parts, strings.TrimSpace(c.Value))
		}
		return strings.Join(parts, ","), nil
	default:
		return "", fmt.Errorf("must be a value or a list, not a mapping")
	}
}

func parseAllow(path string, v *yaml.Node) ([]AllowEntry, []error) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, []error{&Error{Source: path, Line: v.Line, Field: "allow", Msg: "must be a list of entries"}}
	}
	if len(v.Content) > maxAllowEntries {
		return nil, []error{&Error{Source: path, Line: v.Line, Field: "allow", Msg: fmt.Sprintf("%d entries, more than the %d allowed", len(v.Content), maxAllowEntries)}}
	}
	var (
		entries []AllowEntry
		errs    []error
	)
	firstSeen := map[string]int{}
	for i, item := range v.Content {
		prefix := fmt.Sprintf("allow[%d]", i)
		if item.Kind != yaml.MappingNode {
			errs = append(errs, &Error{Source: path, Line: item.Line, Field: prefix, Msg: "must be a mapping with key or alias, reason and expires"})
			continue
		}
		e, entryErrs := parseAllowEntry(path, prefix, item)
		errs = append(errs, entryErrs...)
		id := strings.Join([]string{e.Key, e.Alias, e.Account, e.Region}, "\x00")
		if line, dup := firstSeen[id]; dup {
			errs = append(errs, &Error{Source: path, Line: item.Line, Field: prefix, Msg: fmt.Sprintf("duplicates the entry on line %d", line)})
		} else {
			firstSeen[id] = item.Line
		}
		entries = append(entries, e)
	}
	return entries, errs
}

// parseAllowEntry reads one allowlist entry, a mapping; prefix names it in
// errors (allow[3]).
func parseAllowEntry(path, prefix string, item *yaml.Node) (AllowEntry, []error) {
	e := AllowEntry{Source: fmt.Sprintf("%s:%d", path, item.Line), path: path, field: prefix}
	var errs []error
	fields := map[string]*yaml.Node{}
	for j := 0; j+1 < len(item.Content); j += 2 {
		k, val := item.Content[j], item.Content[j+1]
		field := prefix + "." + k.Value
		if _, dup := fields[k.Value]; dup {
			errs = append(errs, &Error{Source: path, Line: k.Line, Field: field, Msg: "given twice"})
			continue
		}
		fields[k.Value] = val
		if val.Kind != yaml.ScalarNode {
			errs = append(errs, &Error{Source: path, Line: val.Line, Field: field, Msg: "must be a single value"})
			continue
		}
		problem, known := e.set(k.Value, strings.TrimSpace(val.Value))
		switch {
		case !known:
			errs = append(errs, &Error{Source: path, Line: k.Line, Field: field, Msg: "unknown field (known: key, alias, account, region, reason, expires)"})
		case problem != "":
			errs = append(errs, &Error{Source: path, Line: val.Line, Field: field, Msg: problem})
		}
	}
	if fields["key"] == nil && fields["alias"] == nil {
		errs = append(errs, &Error{Source: path, Line: item.Line, Field: prefix, Msg: "needs key or alias"})
	}
	for _, req := range []string{"reason", "expires"} {
		if fields[req] == nil {
			errs = append(errs, &Error{Source: path, Line: item.Line, Field: prefix + "." + req, Msg: "is required"})
		}
	}
	if v := fields["expires"]; v != nil {
		e.expiresLine = v.Line
	}
	if field, matches, ok := CatchAll(e); ok {
		errs = append(errs, &Error{Source: path, Line: fields[field].Line, Field: prefix + "." + field,
			Msg: fmt.Sprintf("%q matches %s: an entry that approves every deletion approves deletions nobody looked at; name the keys (an ARN, a key id, an alias, or a narrower glob such as alias/retired-*)", strings.TrimSpace(fields[field].Value), matches)})
	}
	return e, errs
}

// ParseAllowlist reads the allowlist of a config file's content (the base
// branch's, read through the contents API), with the same checks as Load
// except those that depend on the run (expiry bounds).
func ParseAllowlist(path string, data []byte) ([]AllowEntry, error) {
	f, err := parseBounded(path, data)
	if err != nil {
		return nil, err
	}
	return f.allow, nil
}

// checkExpiries refuses entries that expire more than maxDays after now: an
// approval is reviewed again within that time.
func checkExpiries(entries []AllowEntry, now time.Time, maxDays int) []error {
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	limit := today.AddDate(0, 0, maxDays)
	var errs []error
	for _, e := range entries {
		if e.Expires.After(limit) {
			errs = append(errs, &Error{Source: e.path, Line: e.expiresLine, Field: e.field + ".expires",
				Msg: fmt.Sprintf("%s is more than max-allow-days (%d) ahead: set it to %s at the latest, and renew the entry when it expires if it is still needed", e.ExpiresText(), maxDays, limit.Format(time.DateOnly))})
		}
	}
	return errs
}

// set stores the field name of an allowlist entry. It returns what is wrong
// with text (empty if nothing) and whether name is a field of an entry.
func (e *AllowEntry) set(name, text string) (problem string, known bool) {
	if name == "expires" {
		t, err := time.Parse(time.DateOnly, text)
		e.Expires = t
		if !dateOnlyPattern.MatchString(text) || err != nil {
			return fmt.Sprintf("%q is not a date like 2026-12-31", text), true
		}
		return "", true
	}
	texts := map[string]struct {
		dst   *string
		check func(string) string
	}{
		"key":     {&e.Key, keyProblem},
		"alias":   {&e.Alias, aliasProblem},
		"account": {&e.Account, accountProblem},
		"region":  {&e.Region, regionProblem},
		"reason":  {&e.Reason, reasonProblem},
	}
	f, ok := texts[name]
	if !ok {
		return "", false
	}
	*f.dst = text
	return f.check(text), true
}

func reasonProblem(text string) string {
	if text == "" {
		return "is empty: say why this deletion is accepted"
	}
	return ""
}

func keyProblem(text string) string {
	switch {
	case text == "":
		return "is empty"
	case !doublestar.ValidatePattern(text):
		return fmt.Sprintf("%q is not a valid glob", text)
	case strings.HasPrefix(text, "arn:") && !kmsARNPattern.MatchString(text):
		return fmt.Sprintf("%q is not a KMS key or alias ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)", text)
	}
	return ""
}

func aliasProblem(text string) string {
	switch {
	case !strings.HasPrefix(text, "alias/"):
		return fmt.Sprintf("%q must start with alias/", text)
	case !doublestar.ValidatePattern(text):
		return fmt.Sprintf("%q is not a valid glob", text)
	}
	return ""
}

func accountProblem(text string) string {
	exact := !strings.ContainsAny(text, "*?[")
	if !accountGlob.MatchString(text) || !doublestar.ValidatePattern(text) || (exact && !IsAccountID(text)) {
		return fmt.Sprintf("%q is not a 12-digit account ID (quote it so YAML keeps it a string)", text)
	}
	return ""
}

func regionProblem(text string) string {
	if !regionGlob.MatchString(text) || !doublestar.ValidatePattern(text) {
		return fmt.Sprintf("%q is not a region name or glob", text)
	}
	if !strings.ContainsAny(text, "*?[") {
		if err := ValidateRegion(text); err != nil {
			return err.Error()
		}
	}
	return ""
}

var yamlLine = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

func yamlError(path string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1]) // the pattern admits digits only
		return &Error{Source: path, Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &Error{Source: path, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return &multiError{errs}
}

type multiError struct{ errs []error }

func (m *multiError) Error() string {
	parts := make([]string, len(m.errs))
	for i, e := range m.errs {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

func (m *multiError) Unwrap() []error { return m.errs }
