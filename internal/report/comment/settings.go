package comment

import (
	"strings"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
)

// settingChanges says which config-file settings this pull request
// changes, and whether each applies now or once merged.
func (r renderer) settingChanges(b *strings.Builder) {
	if len(r.res.SettingChanges) == 0 {
		return
	}
	b.WriteString("\n**Config file changes**: a pull request cannot loosen its own gate through the config file.\n\n")
	for _, c := range r.res.SettingChanges {
		b.WriteString("- " + report.SettingChangeLine(c) + "\n")
	}
}
