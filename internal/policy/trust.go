package policy

import (
	"strings"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
)

// AddedByChange reports, for each entry of head (the pull request's
// allowlist), whether the pull request added or widened it: whether no entry
// of base (the allowlist of the branch it merges into) already approves
// everything it approves, for at least as long. Such an entry approves
// nothing until it is merged: a pull request cannot approve its own
// deletions.
//
// The comparison is conservative: a head entry counts as covered only when
// each selector is the same as the base entry's, is a literal the base
// entry's glob matches, or the base entry has no such selector at all. Any
// other rewording of a glob counts as a widening, to be reviewed.
func AddedByChange(base, head []config.AllowEntry) []bool {
	out := make([]bool, len(head))
	for i, h := range head {
		out[i] = true
		for _, b := range base {
			if covers(b, h) {
				out[i] = false
				break
			}
		}
	}
	return out
}

// covers reports whether base entry b approves everything h approves, until
// at least h's expiry.
func covers(b, h config.AllowEntry) bool {
	return !h.Expires.After(b.Expires) &&
		selectorCovers(b.Key, h.Key) && selectorCovers(b.Alias, h.Alias) &&
		selectorCovers(b.Account, h.Account) && selectorCovers(b.Region, h.Region)
}

func selectorCovers(base, head string) bool {
	switch {
	case base == "":
		return true // base matches everything here
	case head == "":
		return false // head matches everything here, base does not
	case base == head:
		return true
	case !strings.ContainsAny(head, `*?[]{}\`):
		return glob(base, head)
	default:
		return false
	}
}
