package app

import (
	"context"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/console"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// loadSettings reads and validates the settings. done reports that the run
// ends here with code: --help (usage on stdout, exit 0) or a bad
// configuration (every error in the log, exit 2, before any AWS call).
func loadSettings(d Deps, log *console.Console) (s config.Settings, code int, done bool) {
	// --help is the output asked for, so it goes to stdout, as is customary.
	s, err := config.Load(d.Args, config.Env{Getenv: d.Getenv, Now: d.Now()}, d.Stdout)
	if err != nil {
		reportConfigErrors(log, err)
		return s, ExitBadConfig, true
	}
	if s.Help {
		return s, ExitPass, true
	}
	log.Mask(s.GitHubToken)
	log.Mask(s.WebhookURL)
	if s.ConfigPath != "" {
		log.Infof("Config file: %s (%d allowlist entries)", s.ConfigPath, len(s.Allow))
	}
	return s, 0, false
}

func reportConfigErrors(log *console.Console, err error) {
	var list []error
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range u.Unwrap() {
			if inner, ok := e.(interface{ Unwrap() []error }); ok {
				list = append(list, inner.Unwrap()...)
			} else {
				list = append(list, e)
			}
		}
	} else {
		list = []error{err}
	}
	for _, e := range list {
		log.Errorf("bad configuration: %s", e.Error())
	}
	log.Errorf("nothing was scanned: fix the configuration above (exit code 2)")
}

// guardSettings applies pullRequestSettings before any AWS call, under its
// own bound: the run's timeout is one of the settings it decides.
func guardSettings(ctx context.Context, s config.Settings, log *console.Console, pr *prContext, workspace string) (config.Settings, []finding.SettingChange, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return pullRequestSettings(ctx, s, log, pr, workspace)
}
