// Package audit renders the body of the scheduled audit issue: the pull
// request comment's summary (same renderer) plus what changed since the last
// run (new, escalated, cancelled and deleted keys). The state of the run is
// carried in the body itself, as a hidden, compressed line the next run reads
// back; that line is untrusted on the way in (anyone who can edit the issue
// wrote it), so it is decoded within fixed bounds and strictly validated.
package audit

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/comment"
)

// Label marks audit issues; the issue of a category is found by it and by
// its marker.
const Label = "kms-deletion-gate"

// Marker returns the hidden first line of the audit issue of a category.
func Marker(category string) string {
	return "<!-- kms-deletion-gate-audit" + strings.TrimPrefix(comment.MarkerFor(category), "<!-- kms-deletion-gate")
}

// Title returns the title of a new audit issue; the default category (the
// tool's name) adds nothing to it.
func Title(category string) string {
	if category == "" || category == Label {
		return "KMS keys pending deletion (scheduled audit)"
	}
	return "KMS keys pending deletion (scheduled audit, " + escape.PlainText(category, 60) + ")"
}

// Options tune the body.
type Options struct {
	Category string
	RunURL   string
	// MaxBytes overrides GitHub's limit (tests); default comment.MaxBytes.
	MaxBytes int
}

// Body is the rendered issue body and what the run says about the issue.
type Body struct {
	Text string
	// Attention: some finding is not accepted by the allowlist, so the issue
	// should be open.
	Attention bool
	// Complete: every target was scanned, so an all-clear can close it.
	Complete bool
	Changes  Changes
	// PreviousState says why the previous state was not used ("" when it
	// was, or when there was no previous body).
	PreviousState string
}

// Change kinds.
const (
	ChangeNew       = "new"
	ChangeEscalated = "escalated"
	ChangeCancelled = "cancelled"
	ChangeDeleted   = "deleted"
)

// Change is one key that changed since the last run.
type Change struct {
	Kind     string
	Account  string
	Region   string
	KeyID    string
	From, To finding.Severity // escalations: before and now; otherwise To is the current or last severity
	Deletion time.Time        // the (last known) deletion date, zero if none
}

// Changes are the keys that changed since the last run, each list sorted.
type Changes struct {
	New, Escalated, Cancelled, Deleted []Change
	// Known is false on the first run, or when the previous state could not
	// be read: nothing can be said about changes.
	Known bool
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return len(c.New)+len(c.Escalated)+len(c.Cancelled)+len(c.Deleted) == 0
}

// Render builds the audit issue body for a run, given the body of the
// existing issue ("" when there is none).
func Render(res finding.Result, previous string, opts Options) Body {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = comment.MaxBytes
	}
	b := Body{Complete: len(res.Errors) == 0}
	for _, f := range res.Findings {
		if !f.Allowlisted {
			b.Attention = true
		}
	}
	var prev *State
	if previous != "" {
		st, err := Decode(previous)
		if err != nil {
			b.PreviousState = err.Error()
		} else {
			prev = &st
		}
	}
	next := Next(res, prev)
	if prev != nil {
		b.Changes = Diff(res, *prev)
	}
	state := next.encodeWithin(maxStateBytes)
	var before strings.Builder
	if !b.Attention && b.Complete {
		before.WriteString("🔒 **Closed by this run**: no key pending deletion needs attention and every target was scanned. The issue reopens when one comes back.\n\n")
	}
	writeChanges(&before, b.Changes, b.PreviousState)
	b.Text = comment.Render(res, comment.Options{
		RunURL: opts.RunURL, Category: opts.Category, MaxBytes: opts.MaxBytes,
		Marker: Marker(opts.Category), Before: before.String(), After: state,
	})
	return b
}

// Cap on the entries listed per kind of change.
const maxListed = 10

// writeChanges lists what changed, and nothing when nothing did (nor on the
// first run): the body of a run that changed nothing equals the last one, so
// nothing is written.
func writeChanges(b *strings.Builder, ch Changes, unreadable string) {
	if unreadable != "" {
		b.WriteString("**Changes since the last run**: not listed, the previous run's state could not be read (" + escape.Markdown(unreadable, 200) + ").\n")
		return
	}
	if !ch.Known || ch.Empty() {
		return
	}
	b.WriteString("**Changes since the last run**\n\n")
	lists := []struct {
		title string
		items []Change
	}{
		{"🆕 New", ch.New}, {"⬆️ Escalated", ch.Escalated}, {"🛟 Cancelled", ch.Cancelled}, {"🗑️ Deleted", ch.Deleted},
	}
	for _, l := range lists {
		for i, c := range l.items {
			if i == maxListed {
				fmt.Fprintf(b, "- %s: … %d more\n", l.title, len(l.items)-maxListed)
				break
			}
			b.WriteString("- " + l.title + ": " + describe(c) + "\n")
		}
	}
}

func describe(c Change) string {
	s := escape.Identifier(c.KeyID) + " in " + escape.Identifier(c.Region) + " of " + escape.Identifier(c.Account)
	switch c.Kind {
	case ChangeEscalated:
		s += fmt.Sprintf(": %s → %s", sevName(c.From), sevName(c.To))
	case ChangeNew:
		s += ": " + sevName(c.To)
	}
	if !c.Deletion.IsZero() {
		verb := "deletion date"
		if c.Kind == ChangeDeleted {
			verb = "deleted on"
		}
		s += ", " + verb + " " + c.Deletion.UTC().Format("2006-01-02 15:04 UTC")
	}
	return s
}

func sevName(s finding.Severity) string {
	if s == finding.SeverityNone {
		return "accepted"
	}
	return s.String()
}

func pending(state string) bool {
	return state == finding.StatePendingDeletion || state == finding.StatePendingReplicaDeletion
}

// Diff lists what changed between the previous state and this run. A key
// whose account or Region could not be scanned this time is not judged.
func Diff(res finding.Result, prev State) Changes {
	ch := Changes{Known: true}
	now := map[string]bool{}
	for _, f := range res.Findings {
		k := keyOf(f.Account, f.Region, f.KeyID)
		now[k] = true
		cur := entryOf(f)
		p, seen := prev.Keys[k]
		c := Change{Account: f.Account, Region: f.Region, KeyID: f.KeyID, To: cur.severity(), Deletion: f.DeletionDate}
		switch {
		case (!seen || pending(p.State)) && cancelledNow(f), seen && pending(p.State) && !pending(cur.State):
			c.Kind = ChangeCancelled
			ch.Cancelled = append(ch.Cancelled, c)
		case !seen:
			if !prev.Partial {
				c.Kind = ChangeNew
				ch.New = append(ch.New, c)
			}
		case cur.severity() > p.severity():
			c.Kind, c.From = ChangeEscalated, p.severity()
			ch.Escalated = append(ch.Escalated, c)
		}
	}
	complete := scannedTargets(res)
	for k, p := range prev.Keys {
		account, region, id := splitKey(k)
		if now[k] || !pending(p.State) || !complete(account, region) {
			continue
		}
		c := Change{Account: account, Region: region, KeyID: id, To: p.severity(), Deletion: p.deletion()}
		if !c.Deletion.IsZero() && !c.Deletion.After(res.ScanTime) {
			c.Kind = ChangeDeleted
			ch.Deleted = append(ch.Deleted, c)
		} else {
			c.Kind = ChangeCancelled
			ch.Cancelled = append(ch.Cancelled, c)
		}
	}
	for _, l := range []*[]Change{&ch.New, &ch.Escalated, &ch.Cancelled, &ch.Deleted} {
		sort.Slice(*l, func(i, j int) bool {
			a, b := (*l)[i], (*l)[j]
			return keyOf(a.Account, a.Region, a.KeyID) < keyOf(b.Account, b.Region, b.KeyID)
		})
	}
	return ch
}

// Next is the state this run leaves: its findings, plus the previous
// entries of targets it could not scan (nothing is known about them).
func Next(res finding.Result, prev *State) State {
	st := State{Keys: map[string]Entry{}}
	for _, f := range res.Findings {
		st.Keys[keyOf(f.Account, f.Region, f.KeyID)] = entryOf(f)
	}
	if prev == nil {
		return st
	}
	complete := scannedTargets(res)
	for k, p := range prev.Keys {
		account, region, _ := splitKey(k)
		if _, ok := st.Keys[k]; !ok && !complete(account, region) {
			st.Keys[k] = p
		}
	}
	st.Partial = prev.Partial && len(res.Errors) > 0
	return st
}

// scannedTargets reports whether a target was scanned in full this run.
func scannedTargets(res finding.Result) func(account, region string) bool {
	ok := map[string]bool{}
	for _, t := range res.Scanned {
		ok[t.Account+"/"+t.Region] = true
	}
	for _, e := range res.Errors {
		if e.Region == "" {
			for k := range ok {
				if strings.HasPrefix(k, e.Account+"/") {
					delete(ok, k)
				}
			}
			continue
		}
		delete(ok, e.Account+"/"+e.Region)
	}
	return func(account, region string) bool { return ok[account+"/"+region] }
}
