package fakegithub

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

const sha40 = "0123456789abcdef0123456789abcdef01234567"

func gzB64(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func do(t *testing.T, s *Server, method, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

func TestOperations(t *testing.T) {
	t.Parallel()
	s := New(t, Options{})
	s.AddPullRequest(PullRequest{Number: 7, HeadSHA: sha40, HeadRef: "feature", HeadRepo: "someone/demo", BaseSHA: sha40, BaseRef: "main", MergeCommitSHA: sha40, Files: []string{"main.tf", "kms.tf"}})
	repo := "/repos/octo-org/demo"

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		want   int
	}{
		{"upload", "POST", repo + "/code-scanning/sarifs", map[string]any{"commit_sha": sha40, "ref": "refs/heads/main", "sarif": gzB64(t, `{"version":"2.1.0","runs":[]}`)}, 202},
		{"upload not gzip", "POST", repo + "/code-scanning/sarifs", map[string]any{"commit_sha": sha40, "ref": "refs/heads/main", "sarif": base64.StdEncoding.EncodeToString([]byte("{}"))}, 400},
		{"status", "GET", repo + "/code-scanning/sarifs/00000000-0000-4000-8000-000000000001", nil, 200},
		{"status unknown", "GET", repo + "/code-scanning/sarifs/nope", nil, 404},
		{"alerts", "GET", repo + "/code-scanning/alerts?ref=refs/heads/main", nil, 200},
		{"create comment", "POST", repo + "/issues/7/comments", map[string]any{"body": "hello"}, 201},
		{"create comment unknown PR", "POST", repo + "/issues/8/comments", map[string]any{"body": "hello"}, 404},
		{"create comment too long", "POST", repo + "/issues/7/comments", map[string]any{"body": strings.Repeat("é", MaxCommentRunes+1)}, 422},
		{"list comments", "GET", repo + "/issues/7/comments?per_page=100", nil, 200},
		{"update comment", "PATCH", repo + "/issues/comments/1001", map[string]any{"body": "edited"}, 200},
		{"update missing comment", "PATCH", repo + "/issues/comments/99", map[string]any{"body": "x"}, 404},
		{"get pull", "GET", repo + "/pulls/7", nil, 200},
		{"list files", "GET", repo + "/pulls/7/files", nil, 200},
		{"check run", "POST", repo + "/check-runs", map[string]any{"name": "kms-deletion-gate", "head_sha": sha40, "conclusion": "success", "output": map[string]any{"title": "t", "summary": "s"}}, 201},
		{"delete comment", "DELETE", repo + "/issues/comments/1001", nil, 204},
		{"other repository", "GET", "/repos/else/where/pulls/7", nil, 404},
	}
	// Sequential: later cases read state the earlier ones made.
	for _, tc := range tests {
		if got, _, body := do(t, s, tc.method, tc.path, tc.body); got != tc.want {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, got, tc.want, body)
		}
	}
	if n := len(s.Uploads()); n != 1 {
		t.Errorf("uploads = %d, want 1", n)
	}
	if got := s.Uploads()[0].SARIF; string(got) != `{"version":"2.1.0","runs":[]}` {
		t.Errorf("decoded SARIF = %q", got)
	}
	if n := len(s.Comments(7)); n != 0 {
		t.Errorf("comments after delete = %d, want 0", n)
	}
	if crs := s.CheckRuns(); len(crs) != 1 || crs[0].Status != "completed" || crs[0].Summary != "s" {
		t.Errorf("check runs = %+v", crs)
	}
	if n := len(s.Calls(OpCreateComment)); n != 3 {
		t.Errorf("create-comment calls = %d, want 3", n)
	}
}

func TestPaginationAndAuthor(t *testing.T) {
	t.Parallel()
	s := New(t, Options{})
	s.AddPullRequest(PullRequest{Number: 1, HeadSHA: sha40, BaseSHA: sha40})
	for range 5 {
		s.AddComment(1, "octocat", "hi")
	}
	code, hdr, body := do(t, s, "GET", "/repos/octo-org/demo/issues/1/comments?per_page=2&page=2", nil)
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	var got []map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["user"].(map[string]any)["login"] != "octocat" {
		t.Errorf("page 2 = %v", got)
	}
	if link := hdr.Get("Link"); !strings.Contains(link, `page=3>; rel="next"`) || !strings.Contains(link, `page=3>; rel="last"`) {
		t.Errorf("Link = %q", link)
	}
	_, hdr, _ = do(t, s, "GET", "/repos/octo-org/demo/issues/1/comments?per_page=2&page=3", nil)
	if link := hdr.Get("Link"); link != "" {
		t.Errorf("last page has Link %q", link)
	}
	code, _, body = do(t, s, "POST", "/repos/octo-org/demo/issues/1/comments", map[string]any{"body": "x"})
	if code != 201 || !strings.Contains(string(body), `"login":"github-actions[bot]"`) || !strings.Contains(string(body), `"type":"Bot"`) {
		t.Errorf("create: %d %s", code, body)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		op         string
		fault      Fault
		method     string
		path       string
		body       any
		wantStatus int
		wantInBody string
	}{
		{"413 on upload", OpUploadSARIF, Fault{Status: 413}, "POST", "/code-scanning/sarifs", map[string]any{"commit_sha": sha40, "ref": "refs/heads/main", "sarif": "x"}, 413, "Too Large"},
		{"503 on status", OpGetSARIF, Fault{Status: 503}, "GET", "/code-scanning/sarifs/x", nil, 503, `"code":"503"`},
		{"secondary rate limit on update", OpUpdateComment, SecondaryRateLimit(2), "PATCH", "/issues/comments/1", map[string]any{"body": "x"}, 403, "secondary-rate-limits"},
		{"502 anywhere", OpListComments, Fault{Status: 502}, "GET", "/issues/1/comments", nil, 502, "Bad Gateway"},
		{"422 on create", OpCreateComment, Fault{Status: 422}, "POST", "/issues/1/comments", map[string]any{"body": "x"}, 422, "Validation Failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := New(t, Options{})
			s.Fail(tc.op, 1, tc.fault)
			code, hdr, body := do(t, s, tc.method, "/repos/octo-org/demo"+tc.path, tc.body)
			if code != tc.wantStatus || !strings.Contains(string(body), tc.wantInBody) {
				t.Errorf("got %d %s, want %d containing %q", code, body, tc.wantStatus, tc.wantInBody)
			}
			if tc.fault.RetryAfter != "" && hdr.Get("Retry-After") != tc.fault.RetryAfter {
				t.Errorf("Retry-After = %q", hdr.Get("Retry-After"))
			}
			// The fault is used up: the next call is answered normally.
			if code, _, _ := do(t, s, tc.method, "/repos/octo-org/demo"+tc.path, tc.body); code == tc.wantStatus {
				t.Errorf("second call still %d", code)
			}
		})
	}
}

func TestValidationCatchesBadTraffic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		fault  *Fault
		want   string
	}{
		{"ref not a full ref", "POST", "/repos/o/r/code-scanning/sarifs", map[string]any{"commit_sha": sha40, "ref": "main", "sarif": "x"}, nil, "ref"},
		{"short sha", "POST", "/repos/o/r/code-scanning/sarifs", map[string]any{"commit_sha": "abc", "ref": "refs/heads/main", "sarif": "x"}, nil, "commit_sha"},
		{"unknown field", "POST", "/repos/o/r/code-scanning/sarifs", map[string]any{"commit_sha": sha40, "ref": "refs/heads/main", "sarif": "x", "category": "c"}, nil, "category"},
		{"missing body", "POST", "/repos/o/r/issues/1/comments", map[string]any{}, nil, "body"},
		{"undescribed path", "GET", "/repos/o/r/releases", nil, nil, "no such operation"},
		{"undocumented fault", "GET", "/repos/o/r/pulls/1", nil, &Fault{Status: 418}, "not one GitHub documents"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewServer(Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if tc.fault != nil {
				s.Fail(OpGetPull, 1, *tc.fault)
			}
			do(t, s, tc.method, tc.path, tc.body)
			errs := s.Errors()
			if len(errs) == 0 || !strings.Contains(errs[0].Error(), tc.want) {
				t.Errorf("errors = %v, want one mentioning %q", errs, tc.want)
			}
		})
	}
}

func TestProcessingSequence(t *testing.T) {
	t.Parallel()
	s := New(t, Options{})
	s.SetProcessing(ProcessingStatus{Status: "pending"}, ProcessingStatus{Status: "failed", Errors: []string{"bad location"}})
	do(t, s, "POST", "/repos/octo-org/demo/code-scanning/sarifs", map[string]any{"commit_sha": sha40, "ref": "refs/pull/7/merge", "sarif": gzB64(t, "{}")})
	id := s.Uploads()[0].ID
	var got []string
	for range 3 {
		_, _, body := do(t, s, "GET", "/repos/octo-org/demo/code-scanning/sarifs/"+id, nil)
		var st struct {
			ProcessingStatus string   `json:"processing_status"`
			Errors           []string `json:"errors"`
		}
		_ = json.Unmarshal(body, &st)
		got = append(got, st.ProcessingStatus+strings.Join(st.Errors, ","))
	}
	if want := "pending failedbad location failedbad location"; strings.Join(got, " ") != want {
		t.Errorf("statuses = %q, want %q", strings.Join(got, " "), want)
	}
}

func TestDisabledAndReadOnly(t *testing.T) {
	t.Parallel()
	s := New(t, Options{ReadOnly: true, CodeScanningDisabled: true})
	s.AddPullRequest(PullRequest{Number: 1, HeadSHA: sha40, BaseSHA: sha40})
	if code, _, body := do(t, s, "POST", "/repos/octo-org/demo/code-scanning/sarifs", map[string]any{"commit_sha": sha40, "ref": "refs/heads/main", "sarif": gzB64(t, "{}")}); code != 403 || !strings.Contains(string(body), "Advanced Security") {
		t.Errorf("upload: %d %s", code, body)
	}
	if code, _, body := do(t, s, "POST", "/repos/octo-org/demo/issues/1/comments", map[string]any{"body": "x"}); code != 403 || !strings.Contains(string(body), "not accessible") {
		t.Errorf("comment: %d %s", code, body)
	}
	if code, _, _ := do(t, s, "GET", "/repos/octo-org/demo/issues/1/comments", nil); code != 200 {
		t.Errorf("read with read-only token: %d", code)
	}
}

func TestPullRequestShapes(t *testing.T) {
	t.Parallel()
	s := New(t, Options{})
	s.AddPullRequest(PullRequest{Number: 3, HeadSHA: sha40, HeadRef: "x", HeadRepo: "", BaseSHA: sha40, BaseRef: "main"})
	s.AddPullRequest(PullRequest{Number: 4, HeadSHA: sha40, HeadRef: "y", HeadRepo: "someone/demo", BaseSHA: sha40, BaseRef: "main"})
	for n, wantHead := range map[string]string{"3": `"full_name":"octo-org/demo"`, "4": `"full_name":"someone/demo"`} {
		code, _, body := do(t, s, "GET", "/repos/octo-org/demo/pulls/"+n, nil)
		var pr struct {
			Head json.RawMessage `json:"head"`
			Base struct {
				Repo struct {
					FullName string `json:"full_name"`
				} `json:"repo"`
			} `json:"base"`
		}
		if err := json.Unmarshal(body, &pr); err != nil || code != 200 {
			t.Fatalf("pull %s: %d %v", n, code, err)
		}
		if !strings.Contains(string(pr.Head), wantHead) || pr.Base.Repo.FullName != "octo-org/demo" {
			t.Errorf("pull %s: head %s base %q", n, pr.Head, pr.Base.Repo.FullName)
		}
	}
}
