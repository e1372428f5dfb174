package summary

import (
	"strings"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
)

// writeSettingChanges says which config-file settings the pull request
// changes, and whether each applies now or once merged.
func writeSettingChanges(b *strings.Builder, res finding.Result) {
	if len(res.SettingChanges) == 0 {
		return
	}
	b.WriteString("**Config file changes**: a pull request cannot loosen its own gate through the config file.\n\n")
	for _, c := range res.SettingChanges {
		b.WriteString("- " + report.SettingChangeLine(c) + "\n")
	}
	b.WriteString("\n")
}
