package annotations

import (
	"fmt"
	"strings"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// lineNote is the last line of an annotation on a file: what the line is to
// the finding.
func lineNote(f finding.Finding, l finding.Location) string {
	if f.RuleID == finding.RuleDeletionPlanned {
		return "\nThis line declares the resource the change deletes."
	}
	return "\nThis line references the key as " + escape.PlainText(l.Match, maxIdentifierRunes) + "."
}

func plannedTitle(f finding.Finding) string {
	p := f.Planned
	if p == nil {
		return "This change deletes KMS key " + keyName(f)
	}
	verb := "deletes"
	if p.Action == "replace" {
		verb = "replaces"
	}
	name := keyName(f)
	if name == "" {
		name = "a KMS key"
	} else {
		name = "KMS key " + name
	}
	return escape.PlainText(p.Address, maxIdentifierRunes) + " " + verb + " " + name
}

// plannedMessage is the body of a planned deletion's annotation.
func plannedMessage(f finding.Finding, scan time.Time) string {
	plain := func(s string) string { return escape.PlainText(s, maxIdentifierRunes) }
	var b strings.Builder
	b.WriteString(plannedTitle(f) + ".")
	if p := f.Planned; p != nil {
		fmt.Fprintf(&b, " (%s %s)", plain(p.Tool), plain(p.Source))
		if !p.Live {
			b.WriteString("\nThe key was not found in AWS, so its use could not be checked.")
		}
	}
	writeUsage(&b, f, scan)
	b.WriteString("\nIf the deletion is not intended, keep the resource (restore it; lifecycle prevent_destroy, or DeletionPolicy/UpdateReplacePolicy Retain).")
	b.WriteString("\nIf it is intended, re-encrypt the data under another key, then document the key in the allowlist on the base branch.")
	return b.String()
}
