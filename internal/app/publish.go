package app

import (
	"context"
	"os"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/console"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/comment"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/sarif"
)

// publish uploads the SARIF report to code scanning and upserts the
// pull-request comment. Every failure is a warning: the local reports are
// already complete.
func publish(ctx context.Context, d Deps, s config.Settings, log *console.Console, res finding.Result) {
	wantUpload := s.UploadSARIF && s.SARIFFile != ""
	wantComment := s.Comment == config.CommentUpsert
	if !wantUpload && !wantComment {
		return
	}
	if s.GitHubToken == "" || d.Getenv("GITHUB_REPOSITORY") == "" {
		if log.InActions() {
			log.Warningf("no github-token: skipping the code scanning upload and the pull-request comment")
		}
		return
	}
	gh := github.New(github.Options{Token: s.GitHubToken, Getenv: d.Getenv, HTTPClient: d.HTTPClient})
	actx := gh.Context()
	if actx.EventErr != nil {
		log.Warningf("reading the event payload: %v", actx.EventErr)
	}
	if wantUpload {
		uploadSARIF(ctx, gh, s, log, res)
	}
	if wantComment && actx.PRNumber > 0 {
		upsertComment(ctx, gh, actx, s, log, res)
	}
}

func uploadSARIF(ctx context.Context, gh *github.Client, s config.Settings, log *console.Console, res finding.Result) {
	data, err := os.ReadFile(s.SARIFFile)
	if err == nil {
		var up github.Upload
		up, err = gh.UploadSARIF(ctx, data, github.UploadOptions{ToolName: sarif.ToolName, StartedAt: res.ScanTime})
		if err == nil {
			log.Infof("Code scanning: uploaded SARIF (id %s, status %s)", up.ID, up.Status)
		}
	}
	if err != nil {
		log.Warningf("code scanning upload: %v", err)
	}
}

func upsertComment(ctx context.Context, gh *github.Client, actx github.ActionsContext, s config.Settings, log *console.Console, res finding.Result) {
	body := comment.Render(res, comment.Options{RunURL: actx.RunURL(), Category: s.Category})
	r, err := gh.UpsertComment(ctx, actx.PRNumber, body)
	if err != nil {
		log.Warningf("pull-request comment: %v", err)
		return
	}
	log.Infof("Pull-request comment: %s %s", r.Action, r.URL)
}
