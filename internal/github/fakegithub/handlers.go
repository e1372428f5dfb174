package fakegithub

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The handlers below run with s.mu held.

func (s *Server) uploadSARIF(op string, body []byte) reply {
	if s.opts.CodeScanningDisabled {
		return codeScanningDisabled(op)
	}
	var in struct {
		CommitSHA   string `json:"commit_sha"`
		Ref         string `json:"ref"`
		SARIF       string `json:"sarif"`
		CheckoutURI string `json:"checkout_uri"`
		StartedAt   string `json:"started_at"`
		ToolName    string `json:"tool_name"`
		Validate    *bool  `json:"validate"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return reply{status: http.StatusBadRequest, body: basicError("Problems parsing JSON", docURL(op))}
	}
	gz, err := base64.StdEncoding.DecodeString(in.SARIF)
	if err != nil {
		return reply{status: http.StatusBadRequest, body: basicError("sarif is not valid base64: "+err.Error(), docURL(op))}
	}
	if len(gz) > MaxSARIFGzipBytes {
		return reply{status: http.StatusRequestEntityTooLarge, body: basicError("Payload Too Large", docURL(op))}
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return reply{status: http.StatusBadRequest, body: basicError("sarif is not gzip-compressed: "+err.Error(), docURL(op))}
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxRequestBytes))
	if err != nil || !json.Valid(raw) {
		return reply{status: http.StatusBadRequest, body: basicError("sarif is not a gzip-compressed JSON document", docURL(op))}
	}
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", len(s.uploads)+1)
	s.uploads = append(s.uploads, &SARIFUpload{
		ID: id, CommitSHA: in.CommitSHA, Ref: in.Ref, CheckoutURI: in.CheckoutURI,
		ToolName: in.ToolName, StartedAt: in.StartedAt, Validate: in.Validate, SARIF: raw,
	})
	return reply{status: http.StatusAccepted, body: map[string]any{
		"id":  id,
		"url": s.URL + "/repos/" + s.Repository() + "/code-scanning/sarifs/" + id,
	}}
}

func (s *Server) getSARIF(op, id string) reply {
	if s.opts.CodeScanningDisabled {
		return codeScanningDisabled(op)
	}
	for _, u := range s.uploads {
		if u.ID != id {
			continue
		}
		st := s.processing[min(u.Polls, len(s.processing)-1)]
		u.Polls++
		out := map[string]any{"processing_status": st.Status, "analyses_url": nil}
		if st.Status == "complete" {
			out["analyses_url"] = s.URL + "/repos/" + s.Repository() + "/code-scanning/analyses?sarif_id=" + id
		}
		if len(st.Errors) > 0 {
			out["errors"] = st.Errors
		}
		return reply{status: http.StatusOK, body: out}
	}
	// Documented without a body.
	return reply{status: http.StatusNotFound}
}

func (s *Server) issueNumber(params map[string]string) (int, bool) {
	n, err := strconv.Atoi(params["issue_number"])
	if err != nil {
		return 0, false
	}
	_, ok := s.pulls[n]
	if !ok {
		_, ok = s.issues[n]
	}
	return n, ok
}

func (s *Server) listComments(op string, params map[string]string, query url.Values) reply {
	n, ok := s.issueNumber(params)
	if !ok {
		return notFound(op)
	}
	var items []any
	for _, c := range s.commentsLocked(n) {
		v, err := s.commentJSON(c)
		if err != nil {
			s.errs = append(s.errs, err)
			return reply{status: http.StatusInternalServerError, anyStatus: true}
		}
		items = append(items, v)
	}
	return s.page(fmt.Sprintf("/repos/%s/issues/%d/comments", s.Repository(), n), query, items)
}

func (s *Server) createComment(op string, params map[string]string, body []byte) reply {
	if s.opts.ReadOnly {
		return readOnly(op)
	}
	n, ok := s.issueNumber(params)
	if !ok {
		return notFound(op)
	}
	text, bad := commentBody(op, body)
	if bad != nil {
		return *bad
	}
	id := s.addCommentLocked(n, s.opts.Login, text)
	return s.commentReply(http.StatusCreated, *s.comments[id])
}

func (s *Server) updateComment(op string, params map[string]string, body []byte) reply {
	if s.opts.ReadOnly {
		return readOnly(op)
	}
	id, _ := strconv.ParseInt(params["comment_id"], 10, 64)
	c, ok := s.comments[id]
	if !ok {
		return notFound(op)
	}
	text, bad := commentBody(op, body)
	if bad != nil {
		return *bad
	}
	c.Body = text
	c.Updated = s.opts.Now().UTC()
	return s.commentReply(http.StatusOK, *c)
}

func (s *Server) deleteComment(op string, params map[string]string) reply {
	if s.opts.ReadOnly {
		return readOnly(op)
	}
	id, _ := strconv.ParseInt(params["comment_id"], 10, 64)
	if _, ok := s.comments[id]; !ok {
		return notFound(op)
	}
	delete(s.comments, id)
	return reply{status: http.StatusNoContent}
}

// commentBody extracts the body and enforces GitHub's length limit.
func commentBody(op string, body []byte) (string, *reply) {
	var in struct {
		Body string `json:"body"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return "", &reply{status: http.StatusUnprocessableEntity, body: basicError("Problems parsing JSON", docURL(op))}
	}
	if utf8.RuneCountInString(in.Body) > MaxCommentRunes {
		return "", &reply{status: http.StatusUnprocessableEntity, body: map[string]any{
			"message":           "Validation Failed",
			"documentation_url": docURL(op),
			"errors": []any{map[string]any{
				"resource": "IssueComment", "code": "custom", "field": "body",
				"message": fmt.Sprintf("body is too long (maximum is %d characters)", MaxCommentRunes),
			}},
		}}
	}
	return in.Body, nil
}

func (s *Server) commentReply(status int, c Comment) reply {
	v, err := s.commentJSON(c)
	if err != nil {
		s.errs = append(s.errs, err)
		return reply{status: http.StatusInternalServerError, anyStatus: true}
	}
	return reply{status: status, body: v}
}

// commentJSON renders a comment on the template of GitHub's documented example.
func (s *Server) commentJSON(c Comment) (any, error) {
	v, err := s.spec.example(OpCreateComment, http.StatusCreated, "default")
	if err != nil {
		return nil, err
	}
	m := v.(map[string]any)
	api := s.URL + "/repos/" + s.Repository()
	m["id"] = c.ID
	m["node_id"] = fmt.Sprintf("IC_fake%d", c.ID)
	m["url"] = fmt.Sprintf("%s/issues/comments/%d", api, c.ID)
	m["html_url"] = fmt.Sprintf("https://github.com/%s/pull/%d#issuecomment-%d", s.Repository(), c.Issue, c.ID)
	m["issue_url"] = fmt.Sprintf("%s/issues/%d", api, c.Issue)
	m["body"] = c.Body
	m["created_at"] = c.Created.Format(time.RFC3339)
	m["updated_at"] = c.Updated.Format(time.RFC3339)
	m["author_association"] = "NONE"
	setUser(m["user"].(map[string]any), c.User)
	return m, nil
}

func setUser(u map[string]any, login string) {
	u["login"] = login
	u["id"] = len(login) * 7919 // stable, distinct enough for tests
	u["node_id"] = "U_fake" + url.PathEscape(login)
	u["url"] = "https://api.github.com/users/" + url.PathEscape(login)
	u["html_url"] = "https://github.com/" + url.PathEscape(login)
	u["type"] = "User"
	if strings.HasSuffix(login, "[bot]") {
		u["type"] = "Bot"
	}
}

func (s *Server) getPull(op string, params map[string]string) reply {
	n, _ := strconv.Atoi(params["pull_number"])
	pr, ok := s.pulls[n]
	if !ok {
		return notFound(op)
	}
	v, err := s.spec.example(OpGetPull, http.StatusOK, "default")
	if err != nil {
		s.errs = append(s.errs, err)
		return reply{status: http.StatusInternalServerError, body: basicError(err.Error(), "")}
	}
	m := v.(map[string]any)
	// GitHub's own example lists a team without the "type" its schema
	// requires (the example doc.Validate trips on): answer with no teams.
	m["requested_teams"] = []any{}
	m["number"] = pr.Number
	m["state"] = "open"
	m["merge_commit_sha"] = pr.MergeCommitSHA
	m["url"] = fmt.Sprintf("%s/repos/%s/pulls/%d", s.URL, s.Repository(), pr.Number)
	m["changed_files"] = len(pr.Files)
	setBranch(m["head"].(map[string]any), pr.HeadSHA, pr.HeadRef, pr.HeadRepo)
	setBranch(m["base"].(map[string]any), pr.BaseSHA, pr.BaseRef, pr.BaseRepo)
	return reply{status: http.StatusOK, body: m}
}

func setBranch(b map[string]any, sha, ref, repo string) {
	b["sha"] = sha
	b["ref"] = ref
	owner, name, _ := strings.Cut(repo, "/")
	b["label"] = owner + ":" + ref
	if r, ok := b["repo"].(map[string]any); ok {
		r["full_name"] = repo
		r["name"] = name
		if o, ok := r["owner"].(map[string]any); ok {
			o["login"] = owner
		}
	}
}

func (s *Server) listPullFiles(op string, params map[string]string, query url.Values) reply {
	n, _ := strconv.Atoi(params["pull_number"])
	pr, ok := s.pulls[n]
	if !ok {
		return notFound(op)
	}
	v, err := s.spec.example(OpListPullFiles, http.StatusOK, "default")
	if err != nil {
		s.errs = append(s.errs, err)
		return reply{status: http.StatusInternalServerError, body: basicError(err.Error(), "")}
	}
	tmpl, _ := json.Marshal(v.([]any)[0])
	var items []any
	for _, name := range pr.Files {
		var f map[string]any
		_ = json.Unmarshal(tmpl, &f)
		f["filename"] = name
		f["status"] = "modified"
		f["blob_url"] = fmt.Sprintf("https://github.com/%s/blob/%s/%s", s.Repository(), pr.HeadSHA, name)
		f["raw_url"] = fmt.Sprintf("https://github.com/%s/raw/%s/%s", s.Repository(), pr.HeadSHA, name)
		f["contents_url"] = fmt.Sprintf("%s/repos/%s/contents/%s?ref=%s", s.URL, s.Repository(), name, pr.HeadSHA)
		items = append(items, f)
	}
	return s.page(fmt.Sprintf("/repos/%s/pulls/%d/files", s.Repository(), n), query, items)
}

func (s *Server) createCheckRun(op string, body []byte) reply {
	if s.opts.ReadOnly {
		return readOnly(op)
	}
	var in struct {
		Name       string `json:"name"`
		HeadSHA    string `json:"head_sha"`
		Status     string `json:"status"`
		Conclusion string `json:"conclusion"`
		Output     *struct {
			Title   string `json:"title"`
			Summary string `json:"summary"`
		} `json:"output"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return reply{status: http.StatusUnprocessableEntity, body: basicError("Problems parsing JSON", docURL(op)), anyStatus: true}
	}
	v, err := s.spec.example(OpCreateCheckRun, http.StatusCreated, "example-of-completed-conclusion")
	if err != nil {
		s.errs = append(s.errs, err)
		return reply{status: http.StatusInternalServerError, body: basicError(err.Error(), "")}
	}
	s.nextID++
	cr := CheckRun{ID: s.nextID, Name: in.Name, HeadSHA: in.HeadSHA, Status: in.Status, Conclusion: in.Conclusion}
	if cr.Status == "" {
		cr.Status = "queued"
	}
	if cr.Conclusion != "" {
		cr.Status = "completed"
	}
	if in.Output != nil {
		cr.Title, cr.Summary = in.Output.Title, in.Output.Summary
	}
	s.checkRuns = append(s.checkRuns, cr)
	m := v.(map[string]any)
	m["id"] = cr.ID
	m["name"] = cr.Name
	m["head_sha"] = cr.HeadSHA
	m["status"] = cr.Status
	m["conclusion"] = nil
	if cr.Conclusion != "" {
		m["conclusion"] = cr.Conclusion
	}
	m["url"] = fmt.Sprintf("%s/repos/%s/check-runs/%d", s.URL, s.Repository(), cr.ID)
	if o, ok := m["output"].(map[string]any); ok {
		o["title"], o["summary"] = nilIfEmpty(cr.Title), nilIfEmpty(cr.Summary)
	}
	return reply{status: http.StatusCreated, body: m}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// page serves one page of a list the way GitHub does: per_page (default 30,
// at most 100), page (from 1), and a Link header naming the next and last pages.
func (s *Server) page(path string, query url.Values, items []any) reply {
	per := 30
	if v, err := strconv.Atoi(query.Get("per_page")); err == nil && v > 0 {
		per = min(v, 100)
	}
	pg := 1
	if v, err := strconv.Atoi(query.Get("page")); err == nil && v > 0 {
		pg = v
	}
	last := max(1, (len(items)+per-1)/per)
	start := min((pg-1)*per, len(items))
	end := min(start+per, len(items))
	out := append([]any{}, items[start:end]...)
	rep := reply{status: http.StatusOK, body: out, header: http.Header{}}
	if pg < last {
		link := func(p int, rel string) string {
			return fmt.Sprintf("<%s%s?per_page=%d&page=%d>; rel=%q", s.URL, path, per, p, rel)
		}
		rep.header.Set("Link", link(pg+1, "next")+", "+link(last, "last"))
	}
	return rep
}
