package report

import (
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// maxSettingValue bounds a config-file value or path in Markdown, in runes.
const maxSettingValue = 120

// SettingChangeLine is one Markdown sentence, for the comment and the job
// summary, about a config-file setting the pull request changes: whether
// its value applies now or once merged. Every value is escaped.
func SettingChangeLine(c finding.SettingChange) string {
	name, file := escape.Code(c.Setting), settingValue(c.File)
	head, base := settingValue(c.Head), settingValue(c.Base)
	switch {
	case c.BaseUnread:
		return "This pull request sets " + name + " to " + head + " in " + file + "; " + base +
			" applies instead, as the base branch's config file could not be read."
	case c.Applied:
		return "This pull request changes " + name + " from " + base + " to " + head + " in " + file + "; stricter, it applies now."
	}
	return "This pull request changes " + name + " from " + base + " to " + head + " in " + file +
		"; it applies once merged (until then the base branch's " + base + " applies)."
}

func settingValue(v string) string {
	if v == "" {
		return "(empty)"
	}
	return escape.Code(escape.PlainText(v, maxSettingValue))
}
