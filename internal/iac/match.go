package iac

import (
	"bytes"
	"strings"
)

// tokenByte marks the bytes that can be part of a key reference: ARNs
// (arn:aws:kms:us-east-1:111122223333:key/1234abcd-...), key ids (UUIDs or
// mrk-<32 hex>) and alias names (alias/[A-Za-z0-9/_-]+). A reference is found
// only as a whole token, so alias/orders never matches inside alias/orders-v2.
var tokenByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "/_:-" {
		t[c] = true
	}
	return t
}()

type refKind uint8

const (
	kindARN refKind = iota
	kindKeyID
	kindAlias
)

// target is one key an identifier belongs to.
type target struct {
	key  int // index into the keys given to Find
	kind refKind
}

// matcher looks up every token of a file in one map of all identifiers of all
// keys, so a file is read and tokenised once however many keys there are.
type matcher struct {
	ids    map[string][]target
	scope  []KeyRef // account and region of each key, to check alias and key ARNs
	minLen int
}

func newMatcher(keys []KeyRef) *matcher {
	m := &matcher{ids: map[string][]target{}, scope: keys, minLen: 1 << 30}
	add := func(id string, t target) {
		if id == "" {
			return
		}
		for _, have := range m.ids[id] {
			if have == t {
				return
			}
		}
		m.ids[id] = append(m.ids[id], t)
		if len(id) < m.minLen {
			m.minLen = len(id)
		}
	}
	for i, k := range keys {
		if validToken(k.ARN) {
			add(k.ARN, target{i, kindARN})
		}
		if validToken(k.KeyID) {
			add(k.KeyID, target{i, kindKeyID})
		}
		for _, a := range k.Aliases {
			if !strings.HasPrefix(a, "alias/") {
				a = "alias/" + a
			}
			if len(a) > len("alias/") && validToken(a) {
				add(a, target{i, kindAlias})
			}
		}
	}
	return m
}

// validToken reports whether s could ever be found as one token: an
// identifier holding other bytes (which AWS does not allow) is never matched.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenByte[s[i]] {
			return false
		}
	}
	return true
}

// hit is one reference found in a file.
type hit struct {
	key   int
	line  int
	match string
}

// scan calls emit for every reference in data, at most once per key and line.
func (m *matcher) scan(data []byte, emit func(hit)) {
	if len(m.ids) == 0 {
		return
	}
	line := 1
	var seen []int // keys already reported on the current line
	report := func(t target, match string) {
		for _, k := range seen {
			if k == t.key {
				return
			}
		}
		seen = append(seen, t.key)
		emit(hit{key: t.key, line: line, match: match})
	}
	i := 0
	for i < len(data) {
		c := data[i]
		if c == '\n' {
			line++
			seen = seen[:0]
			i++
			continue
		}
		if !tokenByte[c] {
			i++
			continue
		}
		start := i
		for i < len(data) && tokenByte[data[i]] {
			i++
		}
		if i-start >= m.minLen {
			m.token(data[start:i], report)
		}
	}
}

// token matches one token: whole (an ARN, key id or alias), or, when it holds
// ':', by its segments, so an alias ARN or a partly interpolated ARN
// ("...:${AWS::AccountId}:key/<id>") still finds the key.
func (m *matcher) token(tok []byte, report func(target, string)) {
	if ts, ok := m.ids[string(tok)]; ok {
		for _, t := range ts {
			report(t, string(tok))
		}
	}
	if bytes.IndexByte(tok, ':') < 0 {
		if r, ok := bytes.CutPrefix(tok, []byte("key/")); ok {
			m.lookup(r, kindKeyID, "", "", report)
		}
		return
	}
	if bytes.HasPrefix(tok, []byte("arn:")) {
		// arn:partition:kms:region:account:resource
		parts := bytes.SplitN(tok, []byte(":"), 6)
		if len(parts) == 6 && string(parts[2]) == "kms" {
			region, account, resource := string(parts[3]), string(parts[4]), parts[5]
			if r, ok := bytes.CutPrefix(resource, []byte("key/")); ok {
				m.lookup(r, kindKeyID, account, region, report)
			} else if bytes.HasPrefix(resource, []byte("alias/")) {
				m.lookup(resource, kindAlias, account, region, report)
			}
			return
		}
	}
	for seg := range bytes.SplitSeq(tok, []byte(":")) {
		if r, ok := bytes.CutPrefix(seg, []byte("key/")); ok {
			m.lookup(r, kindKeyID, "", "", report)
		} else if len(seg) >= m.minLen {
			m.lookup(seg, kindKeyID, "", "", report)
			m.lookup(seg, kindAlias, "", "", report)
		}
	}
}

// lookup reports the targets of kind that id names, keeping only keys in the
// given account and region when the reference states them.
func (m *matcher) lookup(id []byte, kind refKind, account, region string, report func(target, string)) {
	ts, ok := m.ids[string(id)]
	if !ok {
		return
	}
	for _, t := range ts {
		if t.kind != kind {
			continue
		}
		k := m.scope[t.key]
		if account != "" && k.Account != "" && account != k.Account {
			continue
		}
		if region != "" && k.Region != "" && region != k.Region {
			continue
		}
		report(t, string(id))
	}
}
