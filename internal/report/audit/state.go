package audit

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// State is what a run knows of each key, carried to the next run in the
// issue body.
type State struct {
	Keys map[string]Entry `json:"keys"` // account/region/key-id -> entry
	// Partial: entries were left out to fit the body, so a key missing from
	// Keys is not necessarily new.
	Partial bool `json:"partial,omitempty"`
}

// Entry is one key in the state.
type Entry struct {
	Severity    string `json:"s"`           // severity name
	State       string `json:"st"`          // KMS key state
	Deletion    string `json:"d,omitempty"` // RFC 3339, to the minute
	Allowlisted bool   `json:"a,omitempty"`
}

func (e Entry) severity() finding.Severity {
	if e.Allowlisted {
		return finding.SeverityNone
	}
	s, _ := finding.ParseSeverity(e.Severity)
	return s
}

func (e Entry) deletion() time.Time {
	t, _ := time.Parse(time.RFC3339, e.Deletion)
	return t
}

func entryOf(f finding.Finding) Entry {
	e := Entry{Severity: f.Severity.String(), State: f.State, Allowlisted: f.Allowlisted}
	if cancelledNow(f) {
		e.State = finding.StateDisabled // what CancelKeyDeletion leaves
	}
	if !f.DeletionDate.IsZero() {
		e.Deletion = f.DeletionDate.UTC().Truncate(time.Minute).Format(time.RFC3339)
	}
	return e
}

// cancelledNow reports whether this run cancelled the key's deletion.
func cancelledNow(f finding.Finding) bool {
	return f.Remediation != nil && f.Remediation.Outcome == "cancelled"
}

func keyOf(account, region, id string) string { return account + "/" + region + "/" + id }

func splitKey(k string) (account, region, id string) {
	parts := strings.SplitN(k, "/", 3)
	if len(parts) != 3 {
		return "", "", k
	}
	return parts[0], parts[1], parts[2]
}

// The hidden line that carries the state, and the bounds it is read within.
const (
	statePrefix = "<!-- kms-deletion-gate-state v1 "
	stateSuffix = " -->"
	// maxStateBytes bounds the line: the rest of the body keeps room.
	maxStateBytes = 24 << 10
	// maxStateJSON bounds the decompressed JSON.
	maxStateJSON = 1 << 20
	maxEntries   = 20000
)

var (
	accountSyntax = regexp.MustCompile(`^[0-9A-Za-z-]{1,64}$`)
	regionSyntax  = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	keyIDSyntax   = regexp.MustCompile(`^[A-Za-z0-9-]{1,128}$`)
	kmsStates     = map[string]bool{
		finding.StatePendingDeletion: true, finding.StatePendingReplicaDeletion: true,
		finding.StateDisabled: true, finding.StateEnabled: true,
		"PendingImport": true, "Unavailable": true, "Creating": true, "Updating": true,
	}
)

// encode renders the state line.
func (s State) encode() (string, error) {
	raw, err := json.Marshal(s) // map keys are sorted: same state, same bytes
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(raw); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return statePrefix + base64.StdEncoding.EncodeToString(buf.Bytes()) + stateSuffix, nil
}

// encodeWithin renders the state line within limit bytes, leaving out the
// least urgent keys (and marking the state partial) when all do not fit.
func (s State) encodeWithin(limit int) string {
	if line, err := s.encode(); err == nil && len(line) <= limit {
		return line
	}
	keys := make([]string, 0, len(s.Keys))
	for k := range s.Keys {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := s.Keys[keys[i]], s.Keys[keys[j]]
		if a.severity() != b.severity() {
			return a.severity() > b.severity()
		}
		return keys[i] < keys[j]
	})
	sub := func(n int) State {
		st := State{Keys: map[string]Entry{}, Partial: true}
		for _, k := range keys[:n] {
			st.Keys[k] = s.Keys[k]
		}
		return st
	}
	lo, hi := 0, len(keys)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if line, err := sub(mid).encode(); err == nil && len(line) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	line, _ := sub(lo).encode()
	return line
}

// Decode reads the state line back from a previous body. The body is
// untrusted: the line is bounded in size, the JSON is strict (unknown fields
// are errors) and every entry is validated. The error says why in words that
// hold nothing from the body.
func Decode(body string) (State, error) {
	var line string
	for _, l := range strings.Split(body, "\n") {
		if l = strings.TrimRight(l, "\r"); strings.HasPrefix(l, statePrefix) {
			line = l // the last one: the renderer writes it at the end
		}
	}
	if line == "" {
		return State{}, errors.New("no state line")
	}
	if len(line) > maxStateBytes || !strings.HasSuffix(line, stateSuffix) {
		return State{}, errors.New("state line too long or unterminated")
	}
	gz, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSuffix(strings.TrimPrefix(line, statePrefix), stateSuffix))
	if err != nil {
		return State{}, errors.New("state is not base64")
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return State{}, errors.New("state is not gzip-compressed")
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxStateJSON+1))
	if err != nil || len(raw) > maxStateJSON {
		return State{}, errors.New("state does not decompress within bounds")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var st State
	if err := dec.Decode(&st); err != nil || dec.More() {
		return State{}, errors.New("state is not the expected JSON")
	}
	if err := st.validate(); err != nil {
		return State{}, err
	}
	return st, nil
}

func (s State) validate() error {
	if s.Keys == nil {
		return errors.New("state has no keys object")
	}
	if len(s.Keys) > maxEntries {
		return fmt.Errorf("state has more than %d keys", maxEntries)
	}
	for k, e := range s.Keys {
		account, region, id := splitKey(k)
		if !accountSyntax.MatchString(account) || !regionSyntax.MatchString(region) || !keyIDSyntax.MatchString(id) {
			return errors.New("state holds a malformed key")
		}
		if sev, err := finding.ParseSeverity(e.Severity); err != nil || sev.String() != e.Severity || !kmsStates[e.State] {
			return errors.New("state holds an unknown severity or key state")
		}
		if e.Deletion != "" {
			if _, err := time.Parse(time.RFC3339, e.Deletion); err != nil {
				return errors.New("state holds a malformed deletion date")
			}
		}
	}
	return nil
}
