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
// pull-request comment, and returns the upload's id ("" if none). Every
// failure is a warning: the local reports are already complete. It waits
// for code scanning to process the upload only under wait-for-processing.
func publish(ctx context.Context, d Deps, s config.Settings, log *console.Console, res finding.Result) (sarifID string) {
	wantUpload := s.UploadSARIF && s.SARIFFile != ""
	wantComment := s.Comment == config.CommentUpsert
	if !wantUpload && !wantComment {
		return ""
	}
	if s.GitHubToken == "" || d.Getenv("GITHUB_REPOSITORY") == "" {
		if log.InActions() {
			log.Warningf("no github-token: skipping the code scanning upload and the pull-request comment")
		}
		return ""
	}
	opts := github.Options{Token: s.GitHubToken, Getenv: d.Getenv, HTTPClient: d.HTTPClient}
	if d.GitHub != nil {
		d.GitHub(&opts)
	}
	gh := github.New(opts)
	actx := gh.Context()
	if actx.EventErr != nil {
		log.Warningf("reading the event payload: %v", actx.EventErr)
	}
	if wantUpload {
		sarifID = uploadSARIF(ctx, gh, s, log, res)
	}
	if wantComment && actx.PRNumber > 0 {
		upsertComment(ctx, gh, actx, s, log, res)
	}
	return sarifID
}

func uploadSARIF(ctx context.Context, gh *github.Client, s config.Settings, log *console.Console, res finding.Result) string {
	data, err := os.ReadFile(s.SARIFFile)
	if err != nil {
		log.Warningf("code scanning upload: %v", err)
		return ""
	}
	up, err := gh.UploadSARIF(ctx, data, github.UploadOptions{ToolName: sarif.ToolName, StartedAt: res.ScanTime})
	if err != nil {
		log.Warningf("code scanning upload: %v", err)
		return ""
	}
	if !s.WaitForProcessing {
		log.Infof("Code scanning: uploaded SARIF (id %s); code scanning processes it in the background", up.ID)
		return up.ID
	}
	// Bounded by the client's PollTimeout (2 minutes) and by ctx.
	up, err = gh.WaitProcessed(ctx, up, 0)
	if err != nil {
		log.Warningf("code scanning upload %s: %v", up.ID, err)
	} else {
		log.Infof("Code scanning: uploaded SARIF (id %s), processing %s", up.ID, up.Status)
	}
	return up.ID
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
