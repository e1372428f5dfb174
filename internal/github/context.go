package github

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ActionsContext is what a run knows about where it runs: the workflow run's
// environment (GITHUB_*) and, for pull request events, the event payload.
// Outside GitHub Actions every field may be empty.
type ActionsContext struct {
	Actions    bool   // GITHUB_ACTIONS is "true"
	Repository string // GITHUB_REPOSITORY, "owner/name"
	Owner      string
	Repo       string
	SHA        string // GITHUB_SHA: for pull_request, the merge commit
	Ref        string // GITHUB_REF: for pull_request, refs/pull/N/merge
	EventName  string // GITHUB_EVENT_NAME
	EventPath  string // GITHUB_EVENT_PATH
	ServerURL  string // GITHUB_SERVER_URL, default https://github.com
	APIURL     string // GITHUB_API_URL, default https://api.github.com
	RunID      string // GITHUB_RUN_ID
	RunAttempt string // GITHUB_RUN_ATTEMPT
	Actor      string // GITHUB_ACTOR
	HeadRef    string // GITHUB_HEAD_REF: a pull request's source branch
	BaseRef    string // GITHUB_BASE_REF: a pull request's target branch
	Workspace  string // GITHUB_WORKSPACE

	// From the event payload (pull_request and pull_request_target events).
	PRNumber  int    // pull_request.number; 0 when the event has no pull request
	PRHeadSHA string // pull_request.head.sha
	// Fork reports a pull request whose head repository is not its base
	// repository (or was deleted). Its pull_request runs get a read-only token.
	Fork bool

	// EventErr is set when GITHUB_EVENT_PATH was named but could not be read
	// or parsed; the pull request fields are then zero.
	EventErr error
}

// LoadContext reads the Actions context through getenv and, for the event
// payload, readFile (os.Getenv and os.ReadFile in production).
func LoadContext(getenv func(string) string, readFile func(string) ([]byte, error)) ActionsContext {
	c := ActionsContext{
		Actions:    getenv("GITHUB_ACTIONS") == "true",
		Repository: getenv("GITHUB_REPOSITORY"),
		SHA:        getenv("GITHUB_SHA"),
		Ref:        getenv("GITHUB_REF"),
		EventName:  getenv("GITHUB_EVENT_NAME"),
		EventPath:  getenv("GITHUB_EVENT_PATH"),
		ServerURL:  strings.TrimRight(getenv("GITHUB_SERVER_URL"), "/"),
		APIURL:     strings.TrimRight(getenv("GITHUB_API_URL"), "/"),
		RunID:      getenv("GITHUB_RUN_ID"),
		RunAttempt: getenv("GITHUB_RUN_ATTEMPT"),
		Actor:      getenv("GITHUB_ACTOR"),
		HeadRef:    getenv("GITHUB_HEAD_REF"),
		BaseRef:    getenv("GITHUB_BASE_REF"),
		Workspace:  getenv("GITHUB_WORKSPACE"),
	}
	if c.ServerURL == "" {
		c.ServerURL = "https://github.com"
	}
	if c.APIURL == "" {
		c.APIURL = "https://api.github.com"
	}
	if owner, repo, ok := strings.Cut(c.Repository, "/"); ok && owner != "" && repo != "" && !strings.Contains(repo, "/") {
		c.Owner, c.Repo = owner, repo
	}
	if c.EventPath != "" && readFile != nil {
		if err := c.readEvent(readFile); err != nil {
			c.EventErr = fmt.Errorf("read event payload GITHUB_EVENT_PATH=%s: %w", c.EventPath, err)
		}
	}
	return c
}

// event holds the few payload fields we use. go-githubactions' Context has
// no pull request number, so the payload is read here.
type event struct {
	PullRequest *struct {
		Number int `json:"number"`
		Head   struct {
			SHA  string `json:"sha"`
			Repo *struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"head"`
		Base struct {
			Repo *struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"base"`
	} `json:"pull_request"`
}

func (c *ActionsContext) readEvent(readFile func(string) ([]byte, error)) error {
	b, err := readFile(c.EventPath)
	if err != nil {
		return err
	}
	var ev event
	if err := json.Unmarshal(b, &ev); err != nil {
		return err
	}
	pr := ev.PullRequest
	if pr == nil {
		return nil
	}
	c.PRNumber = pr.Number
	c.PRHeadSHA = pr.Head.SHA
	// A deleted fork has a null head repository: treat it as a fork.
	c.Fork = pr.Head.Repo == nil || pr.Base.Repo == nil ||
		!strings.EqualFold(pr.Head.Repo.FullName, pr.Base.Repo.FullName)
	return nil
}

// RunURL is the web address of the workflow run from the environment, or ""
// outside Actions: the one link the job summary and the PR comment share.
func RunURL(getenv func(string) string) string {
	return LoadContext(getenv, nil).RunURL()
}

// RunURL is the web address of the workflow run (this attempt, when it is a
// re-run), or "" outside Actions.
func (c ActionsContext) RunURL() string {
	if c.Repository == "" || c.RunID == "" {
		return ""
	}
	u := fmt.Sprintf("%s/%s/actions/runs/%s", c.ServerURL, c.Repository, c.RunID)
	if n, err := strconv.Atoi(c.RunAttempt); err == nil && n > 1 {
		u += "/attempts/" + c.RunAttempt
	}
	return u
}

var (
	commitSHAPattern = regexp.MustCompile(`^[0-9a-fA-F]{40}(?:[0-9a-fA-F]{24})?$`)
	refPattern       = regexp.MustCompile(`^refs/(heads|tags|pull)/.+$`)
)

// SARIFTarget returns the commit and ref a code scanning upload belongs to:
// for pull_request events the merge commit (GITHUB_SHA) and
// refs/pull/N/merge, so alerts show on the pull request; for every other
// event (push, schedule, workflow_dispatch, pull_request_target...) GITHUB_SHA
// and GITHUB_REF, the branch or tag the workflow ran on.
func (c ActionsContext) SARIFTarget() (commitSHA, ref string, err error) {
	commitSHA, ref = c.SHA, c.Ref
	if c.EventName == "pull_request" && c.PRNumber > 0 {
		ref = fmt.Sprintf("refs/pull/%d/merge", c.PRNumber)
	}
	if !commitSHAPattern.MatchString(commitSHA) {
		return "", "", fmt.Errorf("GITHUB_SHA %q is not a commit SHA: set it to the full 40-character commit the scan belongs to", commitSHA)
	}
	if !refPattern.MatchString(ref) {
		return "", "", fmt.Errorf("GITHUB_REF %q is not a full Git ref: set it to refs/heads/<branch>, refs/tags/<tag> or refs/pull/<number>/merge", ref)
	}
	return commitSHA, ref, nil
}
