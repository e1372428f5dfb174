package github

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// MaxSARIFGzipBytes is code scanning's limit on an upload, gzip-compressed.
const MaxSARIFGzipBytes = 10 << 20

// UploadOptions tune a SARIF upload. The category of a scan is not here: it
// travels inside the SARIF (runs[].automationDetails.id), where code
// scanning reads it.
type UploadOptions struct {
	// CommitSHA and Ref override the target derived from the Actions context.
	CommitSHA string
	Ref       string
	// CheckoutURI is the workspace as it appears in the SARIF, if absolute.
	CheckoutURI string
	StartedAt   time.Time
	ToolName    string
	// Validate asks code scanning to check the file against its rules.
	Validate bool
}

// Upload is the outcome of an upload.
type Upload struct {
	ID          string
	CommitSHA   string
	Ref         string
	Status      string   // "complete", "failed", or "pending" when polling stopped first
	Errors      []string // processing errors reported by code scanning
	AnalysesURL string
}

// sarifRequest is the upload body; go-github's SarifAnalysis lacks validate.
type sarifRequest struct {
	CommitSHA   string `json:"commit_sha"`
	Ref         string `json:"ref"`
	SARIF       string `json:"sarif"`
	CheckoutURI string `json:"checkout_uri,omitempty"`
	StartedAt   string `json:"started_at,omitempty"`
	ToolName    string `json:"tool_name,omitempty"`
	Validate    *bool  `json:"validate,omitempty"`
}

type sarifID struct {
	ID string `json:"id"`
}

// sarifStatus is the status answer; go-github's SARIFUpload lacks errors.
type sarifStatus struct {
	ProcessingStatus string   `json:"processing_status"`
	AnalysesURL      *string  `json:"analyses_url"`
	Errors           []string `json:"errors"`
}

const opUpload = "upload SARIF to code scanning"

var uploadHints = map[int]string{
	http.StatusForbidden:             "the job needs `permissions: security-events: write`, and code scanning must be available (GitHub Advanced Security on private repositories; not on archived ones)",
	http.StatusNotFound:              "the repository was not found with this token, or code scanning is not available on it",
	http.StatusRequestEntityTooLarge: "the SARIF file is over code scanning's limit; shard the scan (fewer accounts per job, one category each)",
	http.StatusBadRequest:            "code scanning could not read the SARIF file",
}

// UploadSARIF gzips and uploads a SARIF file to code scanning, then waits (a
// bounded time) for it to be processed. The returned Upload holds what is
// known even when the error, always a *Warning, is not nil.
func (c *Client) UploadSARIF(ctx context.Context, sarif []byte, opts UploadOptions) (Upload, error) {
	if w := c.ready(opUpload); w != nil {
		return Upload{}, w
	}
	up := Upload{CommitSHA: opts.CommitSHA, Ref: opts.Ref}
	if up.CommitSHA == "" || up.Ref == "" {
		sha, ref, err := c.actx.SARIFTarget()
		if err != nil {
			return up, &Warning{Op: opUpload, Kind: KindSkipped, Detail: err.Error(), Err: err}
		}
		if up.CommitSHA == "" {
			up.CommitSHA = sha
		}
		if up.Ref == "" {
			up.Ref = ref
		}
	}
	if !commitSHAPattern.MatchString(up.CommitSHA) || !refPattern.MatchString(up.Ref) {
		return up, &Warning{Op: opUpload, Kind: KindSkipped, Detail: fmt.Sprintf("commit %q / ref %q is not a full commit SHA and Git ref", up.CommitSHA, up.Ref)}
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(sarif); err != nil {
		return up, &Warning{Op: opUpload, Kind: KindInvalid, Detail: "gzip: " + err.Error(), Err: err}
	}
	if err := zw.Close(); err != nil {
		return up, &Warning{Op: opUpload, Kind: KindInvalid, Detail: "gzip: " + err.Error(), Err: err}
	}
	if gz.Len() > c.maxGzip {
		return up, &Warning{Op: opUpload, Kind: KindTooLarge, Detail: fmt.Sprintf("the SARIF file is %d bytes gzip-compressed, over code scanning's %d: %s",
			gz.Len(), c.maxGzip, uploadHints[http.StatusRequestEntityTooLarge])}
	}

	body := sarifRequest{
		CommitSHA:   up.CommitSHA,
		Ref:         up.Ref,
		SARIF:       base64.StdEncoding.EncodeToString(gz.Bytes()),
		CheckoutURI: opts.CheckoutURI,
		ToolName:    opts.ToolName,
	}
	if !opts.StartedAt.IsZero() {
		body.StartedAt = opts.StartedAt.UTC().Format(time.RFC3339)
	}
	if opts.Validate {
		v := true
		body.Validate = &v
	}
	owner, repo := c.actx.Owner, c.actx.Repo
	req, err := c.api.NewRequest(http.MethodPost, fmt.Sprintf("repos/%s/%s/code-scanning/sarifs", owner, repo), body)
	if err != nil {
		return up, c.classify(opUpload, err, nil)
	}
	var id sarifID
	if _, err := c.api.Do(ctx, req, &id); err != nil && !isAccepted(err, &id) {
		return up, c.classify(opUpload, err, uploadHints)
	}
	if id.ID == "" {
		return up, &Warning{Op: opUpload, Kind: KindInvalid, Detail: "code scanning accepted the upload but returned no id"}
	}
	up.ID = id.ID
	return up, c.waitProcessed(ctx, &up)
}

const opStatus = "check SARIF processing"

// waitProcessed polls the upload's status until code scanning is done or
// PollTimeout has passed in PollInterval steps.
func (c *Client) waitProcessed(ctx context.Context, up *Upload) error {
	up.Status = "pending"
	tries := max(1, int((c.opts.PollTimeout+c.opts.PollInterval-1)/c.opts.PollInterval))
	path := fmt.Sprintf("repos/%s/%s/code-scanning/sarifs/%s", c.actx.Owner, c.actx.Repo, up.ID)
	for i := range tries {
		if err := c.opts.Sleep(ctx, c.opts.PollInterval); err != nil {
			return c.classify(opStatus, err, nil)
		}
		req, err := c.api.NewRequest(http.MethodGet, path, nil)
		if err != nil {
			return c.classify(opStatus, err, nil)
		}
		var st sarifStatus
		if _, err := c.api.Do(ctx, req, &st); err != nil {
			w := c.classify(opStatus, err, map[int]string{
				http.StatusForbidden: "the job needs `permissions: security-events: read` to check the upload",
			})
			// Right after an upload the status can be briefly unknown.
			if w.Kind == KindNotFound && i < tries-1 {
				continue
			}
			w.Detail = fmt.Sprintf("upload %s: %s", up.ID, w.Detail)
			return w
		}
		up.Status, up.Errors = st.ProcessingStatus, st.Errors
		if st.AnalysesURL != nil {
			up.AnalysesURL = *st.AnalysesURL
		}
		switch st.ProcessingStatus {
		case "complete":
			return nil
		case "failed":
			detail := fmt.Sprintf("code scanning failed to process upload %s", up.ID)
			if len(st.Errors) > 0 {
				detail += ": " + c.redact(strings.Join(st.Errors, "; "))
			}
			return &Warning{Op: opStatus, Kind: KindProcessing, Detail: detail}
		}
	}
	return &Warning{Op: opStatus, Kind: KindTimeout, Detail: fmt.Sprintf("upload %s still %s after %s; code scanning may finish it later", up.ID, up.Status, c.opts.PollTimeout)}
}

// isAccepted decodes a 202 answer: go-github reports 202 as an
// *AcceptedError holding the raw body instead of decoding it.
func isAccepted(err error, v any) bool {
	var ae *gh.AcceptedError
	if !errors.As(err, &ae) {
		return false
	}
	return json.Unmarshal(ae.Raw, v) == nil
}
