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
	"net/url"
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
	// ID is code scanning's id of the upload (the sarif-id output).
	ID        string
	CommitSHA string
	Ref       string
	// Status is "pending" once code scanning has accepted the upload and
	// nobody has waited for it, else the last processing status read by
	// WaitProcessed: "pending", "complete" or "failed".
	Status      string
	Errors      []string // processing errors reported by code scanning
	AnalysesURL string
}

// StatusPending is an upload's status until code scanning has processed it.
const StatusPending = "pending"

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

// UploadSARIF gzips and uploads a SARIF file to code scanning and returns
// as soon as code scanning has accepted it: Status is "pending" and ID is
// set. Processing takes GitHub from seconds to minutes; WaitProcessed waits
// for it, for callers that asked to. The returned Upload holds what is known
// even when the error, always a *Warning, is not nil.
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
	gz, w := c.gzipSARIF(sarif)
	if w != nil {
		return up, w
	}
	body := sarifRequest{
		CommitSHA:   up.CommitSHA,
		Ref:         up.Ref,
		SARIF:       base64.StdEncoding.EncodeToString(gz),
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
	up.ID, up.Status = id.ID, StatusPending
	return up, nil
}

// gzipSARIF compresses a SARIF file and checks code scanning's size limit.
func (c *Client) gzipSARIF(sarif []byte) ([]byte, *Warning) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(sarif); err != nil {
		return nil, &Warning{Op: opUpload, Kind: KindInvalid, Detail: "gzip: " + err.Error(), Err: err}
	}
	if err := zw.Close(); err != nil {
		return nil, &Warning{Op: opUpload, Kind: KindInvalid, Detail: "gzip: " + err.Error(), Err: err}
	}
	if gz.Len() > c.maxGzip {
		return nil, &Warning{Op: opUpload, Kind: KindTooLarge, Detail: fmt.Sprintf("the SARIF file is %d bytes gzip-compressed, over code scanning's %d: %s",
			gz.Len(), c.maxGzip, uploadHints[http.StatusRequestEntityTooLarge])}
	}
	return gz.Bytes(), nil
}

const opStatus = "check SARIF processing"

// WaitProcessed polls the status of an accepted upload every PollInterval
// until code scanning has processed it or bound has passed (bound <= 0:
// Options.PollTimeout). It makes at most ceil(bound/PollInterval) status
// requests and also stops when ctx is done. The returned Upload carries the
// last status read; the error, always a *Warning, says why it is not
// "complete" (processing failed, still pending at the bound, a failed call).
func (c *Client) WaitProcessed(ctx context.Context, up Upload, bound time.Duration) (Upload, error) {
	if up.ID == "" {
		return up, &Warning{Op: opStatus, Kind: KindSkipped, Detail: "no upload id to check"}
	}
	if w := c.ready(opStatus); w != nil {
		return up, w
	}
	if bound <= 0 {
		bound = c.opts.PollTimeout
	}
	if up.Status == "" {
		up.Status = StatusPending
	}
	tries := max(1, int((bound+c.opts.PollInterval-1)/c.opts.PollInterval))
	path := fmt.Sprintf("repos/%s/%s/code-scanning/sarifs/%s", c.actx.Owner, c.actx.Repo, url.PathEscape(up.ID))
	for i := range tries {
		if err := c.opts.Sleep(ctx, c.opts.PollInterval); err != nil {
			return up, c.classify(opStatus, err, nil)
		}
		st, w := c.sarifStatus(ctx, path)
		if w != nil {
			// Right after an upload the status can be briefly unknown.
			if w.Kind == KindNotFound && i < tries-1 {
				continue
			}
			w.Detail = fmt.Sprintf("upload %s: %s", up.ID, w.Detail)
			return up, w
		}
		up.Status, up.Errors = st.ProcessingStatus, st.Errors
		if st.AnalysesURL != nil {
			up.AnalysesURL = *st.AnalysesURL
		}
		switch st.ProcessingStatus {
		case "complete":
			return up, nil
		case "failed":
			detail := fmt.Sprintf("code scanning failed to process upload %s", up.ID)
			if len(st.Errors) > 0 {
				detail += ": " + c.redact(strings.Join(st.Errors, "; "))
			}
			return up, &Warning{Op: opStatus, Kind: KindProcessing, Detail: detail}
		}
	}
	return up, &Warning{Op: opStatus, Kind: KindTimeout, Detail: fmt.Sprintf("upload %s still %s after %s; code scanning may finish it later", up.ID, up.Status, bound)}
}

// sarifStatus reads an upload's processing status once.
func (c *Client) sarifStatus(ctx context.Context, path string) (sarifStatus, *Warning) {
	var st sarifStatus
	req, err := c.api.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		return st, c.classify(opStatus, err, nil)
	}
	if _, err := c.api.Do(ctx, req, &st); err != nil {
		return st, c.classify(opStatus, err, map[int]string{
			http.StatusForbidden: "the job needs `permissions: security-events: read` to check the upload",
		})
	}
	return st, nil
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
