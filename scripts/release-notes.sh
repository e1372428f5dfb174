#!/usr/bin/env bash
# Prints the release notes of one version: its section of CHANGELOG.md
# (Keep a Changelog), without the heading. release.yml passes the result to
# `goreleaser release --release-notes`.
#
#   scripts/release-notes.sh 1.2.3              the "## [1.2.3] - YYYY-MM-DD" section
#   scripts/release-notes.sh Unreleased         the "## [Unreleased]" section (snapshots)
#
# Fails (exit 1) when the section is missing or empty, or when a version's
# heading has no release date: a release is cut by renaming Unreleased to
# the version, with its date, in the release commit.
set -euo pipefail

version="${1:?usage: $0 VERSION|Unreleased}"
version="${version#v}"
changelog="${CHANGELOG:-$(dirname "$0")/../CHANGELOG.md}"

awk -v want="${version}" '
  /^## \[/ {
    if (found) { exit }
    heading = $0
    name = $0; sub(/^## \[/, "", name); sub(/\].*$/, "", name)
    if (name == want) { found = 1; head = heading; next }
  }
  found { lines[++n] = $0 }
  END {
    if (!found) { print "release-notes: no \"## [" want "]\" section in CHANGELOG.md" > "/dev/stderr"; exit 1 }
    if (want != "Unreleased" && head !~ /\] - [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$/) {
      print "release-notes: \"" head "\" has no release date (want \"## [" want "] - YYYY-MM-DD\")" > "/dev/stderr"; exit 1
    }
    # Drop leading and trailing blank lines and the link references.
    first = 1; last = n
    while (first <= n && lines[first] ~ /^[[:space:]]*$/) first++
    while (last >= first && (lines[last] ~ /^[[:space:]]*$/ || lines[last] ~ /^\[[^]]+\]: /)) last--
    if (first > last) { print "release-notes: the [" want "] section is empty" > "/dev/stderr"; exit 1 }
    for (i = first; i <= last; i++) print lines[i]
  }
' "${changelog}"
