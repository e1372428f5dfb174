package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/fakegithub"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/fakeoidc"
	fp "github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/faultproxy"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// Recognisable secrets. Sessions are answered by the proxy in STS's XML
// shapes (the API reference's AssumeRoleWithWebIdentity and AssumeRole
// responses), so their keys and tokens are known to the test.
const (
	secretGitHubToken   = "ghs_ReliabilityGitHubToken0000000000001"
	hubSecretKey        = "hubSessionSecret/NeverPrintMe00000000002"
	hubSessionToken     = "hubSessionToken/NeverPrintMe000000000000000000003"
	memberSecretKey     = "memberSessionSecret/NeverPrintMe000004"
	memberSessionToken  = "memberSessionToken/NeverPrintMe00000000000000000005"
	hubAccessKeyID      = "ASIARELIABILITYHUB01"
	memberAccessKeyID   = "ASIARELIABILITYMEM01"
	assumeRoleWebIDBody = `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>repo:octo-org/infra:pull_request</SubjectFromWebIdentityToken><Audience>sts.amazonaws.com</Audience><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/kdg-hub/kms-deletion-gate</Arn><AssumedRoleId>AROARELIABILITYHUB01:kms-deletion-gate</AssumedRoleId></AssumedRoleUser><Credentials><SessionToken>` + hubSessionToken + `</SessionToken><SecretAccessKey>` + hubSecretKey + `</SecretAccessKey><Expiration>2099-01-01T00:00:00Z</Expiration><AccessKeyId>` + hubAccessKeyID + `</AccessKeyId></Credentials><Provider>token.actions.githubusercontent.com</Provider></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000001</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`
	assumeRoleBody      = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/kdg-member/kms-deletion-gate</Arn><AssumedRoleId>AROARELIABILITYMEM01:kms-deletion-gate</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>` + memberAccessKeyID + `</AccessKeyId><SecretAccessKey>` + memberSecretKey + `</SecretAccessKey><SessionToken>` + memberSessionToken + `</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000002</RequestId></ResponseMetadata></AssumeRoleResponse>`
)

func secretSuite(t *testing.T, rec *recorder) {
	srv := moto.Start(t)
	seedTime := time.Now()
	seedKey(t, srv, "us-east-1", "pending", map[string]string{"team": "payments"}, "alias/orders-old", 7)
	seedKey(t, srv, "us-east-1", "pending 2", nil, "", 20)
	now := seedTime.Add(shiftDays * 24 * time.Hour)

	t.Run("action: OIDC, assume role, upload, comment, cancel", func(t *testing.T) {
		t.Parallel()
		secretsInAction(t, rec, srv, now)
	})
	// Not parallel: it runs to its end here, before the action case (paused
	// until this function returns) cancels a deletion in the same moto;
	// racing it, the CLI sometimes saw one pending key of two.
	t.Run("CLI: token from the environment", func(t *testing.T) {
		secretsInCLI(t, rec, srv, now)
	})
}

func secretsInAction(t *testing.T, rec *recorder, srv *moto.Server, now time.Time) {
	oidc := fakeoidc.Start(t, fakeoidc.Config{Repository: "octo-org/infra"})
	gh := fakegithub.New(t, fakegithub.Options{Owner: "octo-org", Repo: "infra"})
	sha := strings.Repeat("ab", 20)
	gh.AddPullRequest(fakegithub.PullRequest{Number: 7, HeadSHA: sha, HeadRef: "retire-key", BaseRef: "main", BaseSHA: strings.Repeat("cd", 20), MergeCommitSHA: sha})

	p, err := emulatingProxy(srv.URL,
		fp.Rule{Operation: "AssumeRoleWithWebIdentity", Fault: fp.Respond, Body: assumeRoleWebIDBody, Emulate: true},
		fp.Rule{Operation: "AssumeRole", Fault: fp.Respond, Body: assumeRoleBody, Emulate: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	event := fmt.Sprintf(`{"action":"synchronize","number":7,"pull_request":{"number":7,"head":{"sha":%q,"ref":"retire-key","repo":{"full_name":"octo-org/infra"}},"base":{"ref":"main","repo":{"full_name":"octo-org/infra"}}}}`, sha)
	env := map[string]string{
		"GITHUB_REPOSITORY": "octo-org/infra", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "{dir}/event.json",
		"GITHUB_SHA": sha, "GITHUB_REF": "refs/pull/7/merge", "GITHUB_API_URL": gh.URL, "GITHUB_SERVER_URL": "https://github.com",
		"GITHUB_RUN_ID": "99",
	}
	for _, kv := range oidc.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	o := run(t, spec{
		endpoint: p.URL,
		inputs: map[string]string{
			"regions": "us-east-1", "github-token": secretGitHubToken, "upload-sarif": "true", "comment": "upsert",
			"role-to-assume": "arn:aws:iam::123456789012:role/kdg-hub", "accounts": "arn:aws:iam::123456789012:role/kdg-member",
			"cloudtrail": "true", "remediate": "cancel", "remediate-on": "critical", "timeout": "90s",
		},
		files: map[string][]byte{"event.json": []byte(event)},
		env:   env,
		now:   now,
	})

	// The paths really ran.
	if oidc.Calls() == 0 {
		t.Errorf("the OIDC token was never requested\n%s", o.stdout)
	}
	if p.Count("AssumeRoleWithWebIdentity", "") == 0 || p.Count("AssumeRole", "") == 0 {
		t.Errorf("no AssumeRoleWithWebIdentity/AssumeRole call\n%s", p.CountsText())
	}
	if len(gh.Uploads()) == 0 {
		t.Errorf("no SARIF upload reached the fake GitHub\n%s", o.stdout)
	}
	comments := gh.Comments(7)
	if len(comments) == 0 {
		t.Errorf("no PR comment reached the fake GitHub\n%s", o.stdout)
	}
	for _, e := range gh.Errors() {
		t.Errorf("fake GitHub: %v", e)
	}

	secrets := map[string]string{
		"GitHub token": secretGitHubToken, "base secret key": testSecretKey,
		"OIDC request token": oidc.RequestToken,
		"hub secret key":     hubSecretKey, "hub session token": hubSessionToken,
		"member secret key": memberSecretKey, "member session token": memberSessionToken,
	}
	for i, tok := range oidc.Issued() {
		secrets[fmt.Sprintf("OIDC ID token %d", i+1)] = tok
	}
	sinks := map[string]string{
		"stdout": o.stdout, "stderr": o.stderr, "job summary": o.summary, "outputs": o.outputsRaw,
		"JSON report": string(o.jsonRaw), "SARIF": string(o.sarif),
	}
	for i, c := range comments {
		sinks[fmt.Sprintf("PR comment %d", i+1)] = c.Body
	}
	for i, u := range gh.Uploads() {
		sinks[fmt.Sprintf("SARIF upload %d", i+1)] = string(u.SARIF)
	}
	masks := checkSecrets(t, secrets, sinks)
	// The secrets the program holds are masked before anything could print them.
	for _, name := range []string{"GitHub token", "hub secret key", "hub session token", "member secret key", "member session token"} {
		if !strings.Contains(o.stdout, "::add-mask::"+secrets[name]) {
			t.Errorf("the %s is never masked", name)
		}
	}
	checkRunArtifacts(t, o)
	rec.add(row{Group: "Secrets", Order: 0, Case: "action: OIDC, assume role, member role, SARIF upload, PR comment, cancel",
		Injected: fmt.Sprintf("%d recognisable secrets: GitHub token, OIDC request and ID tokens, base secret key, two sessions' secret keys and tokens", len(secrets)),
		Exit:     fmt.Sprint(o.code), Findings: fmt.Sprintf("%d", len(findingKeys(o.report))), Requests: fmt.Sprint(p.Total()),
		Reported: fmt.Sprintf("secrets only inside %d ::add-mask:: lines; %d sinks checked", masks, len(sinks)), Lost: "nothing leaked"})
}

func secretsInCLI(t *testing.T, rec *recorder, srv *moto.Server, now time.Time) {
	p, err := emulatingProxy(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	o := run(t, spec{
		endpoint: p.URL,
		cli:      true,
		args:     []string{"--regions", "us-east-1", "--comment", "upsert", "--upload-sarif", "true", "--remediate", "plan"},
		env:      map[string]string{"GITHUB_TOKEN": secretGitHubToken},
		now:      now,
	})
	sinks := map[string]string{"stdout": o.stdout, "stderr": o.stderr, "JSON report": string(o.jsonRaw), "SARIF": string(o.sarif)}
	if b, err := os.ReadFile(filepath.Join(o.dir, "report.sarif")); err == nil {
		sinks["SARIF"] = string(b)
	}
	masks := checkSecrets(t, map[string]string{"GitHub token": secretGitHubToken, "base secret key": testSecretKey}, sinks)
	if masks != 0 {
		t.Errorf("the CLI wrote %d ::add-mask:: lines; outside Actions it must print no workflow command", masks)
	}
	rec.add(row{Group: "Secrets", Order: 1, Case: "CLI: token from GITHUB_TOKEN, static keys",
		Injected: "GitHub token and secret access key", Exit: fmt.Sprint(o.code), Findings: fmt.Sprintf("%d", len(findingKeys(o.report))),
		Requests: fmt.Sprint(p.Total()), Reported: fmt.Sprintf("no secret in %d sinks", len(sinks)), Lost: "nothing leaked"})
}

// checkSecrets asserts no secret appears in any sink, except as the whole
// payload of an ::add-mask:: line in the log. It returns the number of
// ::add-mask:: lines.
func checkSecrets(t *testing.T, secrets, sinks map[string]string) int {
	t.Helper()
	masks := 0
	for _, sink := range sortedKeys(sinks) {
		text := sinks[sink]
		for _, line := range strings.Split(text, "\n") {
			isMask := strings.HasPrefix(line, "::add-mask::")
			if isMask && (sink == "stdout") {
				masks++
			}
			for _, name := range sortedKeys(secrets) {
				s := secrets[name]
				if s == "" || !strings.Contains(line, s) {
					continue
				}
				if isMask && sink == "stdout" && line == "::add-mask::"+s {
					continue
				}
				t.Errorf("the %s leaks into the %s: %q", name, sink, clip(line))
			}
		}
	}
	return masks
}
