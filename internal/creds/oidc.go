package creds

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// tokenFetchTimeout bounds one request to the runner's token endpoint.
const tokenFetchTimeout = 30 * time.Second

// webIdentityProvider fetches the first OIDC token now (so a missing
// permission fails the run at once with a clear message) and returns a
// provider that assumes RoleToAssume with it, fetching a fresh token on
// every later refresh: GitHub's tokens live minutes, the sessions longer.
func (r *resolver) webIdentityProvider(ctx context.Context, baseCfg aws.Config) (aws.CredentialsProvider, error) {
	if r.deps.OIDC == nil {
		return nil, fmt.Errorf("role-to-assume is set but no OIDC token source was configured: %w", ErrNoIDToken)
	}
	if r.deps.OIDC.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" || r.deps.OIDC.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") == "" {
		return nil, fmt.Errorf("role-to-assume is set, but the runner offers no OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set): "+
			"add `permissions: id-token: write` to the job or workflow (GitHub never gives OIDC tokens to pull_request runs from forks); "+
			"outside GitHub Actions, leave role-to-assume empty and use the standard AWS credential chain: %w", ErrNoIDToken)
	}
	tr := &tokenRetriever{
		ctx:      context.WithoutCancel(ctx),
		oidc:     r.deps.OIDC,
		audience: r.opts.Audience,
		mask:     r.mask,
	}
	tok, err := tr.fetch(ctx)
	if err != nil {
		return nil, fmt.Errorf("role-to-assume: fetch the GitHub OIDC token for audience %q: %s", r.opts.Audience, r.red.clean(err.Error()))
	}
	tr.primed = tok

	// AssumeRoleWithWebIdentity is unsigned; anonymous credentials keep the
	// SDK from searching the default chain (and IMDS) for keys it won't use.
	stsCfg := baseCfg.Copy()
	stsCfg.Credentials = aws.AnonymousCredentials{}
	prov := stscreds.NewWebIdentityRoleProvider(sts.NewFromConfig(stsCfg), r.opts.RoleToAssume, tr, func(o *stscreds.WebIdentityRoleOptions) {
		o.RoleSessionName = r.opts.RoleSessionName
		o.Duration = time.Duration(r.opts.RoleDurationSeconds) * time.Second
	})
	return &maskingProvider{inner: prov, mask: r.mask}, nil
}

// tokenRetriever adapts the runner's token endpoint to stscreds'
// IdentityTokenRetriever, masking each token as soon as it arrives.
type tokenRetriever struct {
	ctx      context.Context // values only; each fetch has its own timeout
	oidc     OIDC
	audience string
	mask     func(string)

	mu     sync.Mutex
	primed string // the token fetched by Resolve, used by the first Retrieve
}

func (t *tokenRetriever) fetch(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, tokenFetchTimeout)
	defer cancel()
	tok, err := t.oidc.GetIDToken(ctx, t.audience)
	if err != nil {
		return "", err
	}
	if tok == "" {
		return "", fmt.Errorf("the runner returned an empty OIDC token")
	}
	t.mask(tok)
	return tok, nil
}

// GetIdentityToken implements stscreds.IdentityTokenRetriever.
func (t *tokenRetriever) GetIdentityToken() ([]byte, error) {
	t.mu.Lock()
	tok := t.primed
	t.primed = ""
	t.mu.Unlock()
	if tok == "" {
		var err error
		if tok, err = t.fetch(t.ctx); err != nil {
			return nil, fmt.Errorf("fetch GitHub OIDC token for audience %q: %w", t.audience, err)
		}
	}
	return []byte(tok), nil
}

// maskingProvider masks every set of credentials its inner provider returns,
// before the caller (the SDK's credentials cache) can use or log them.
type maskingProvider struct {
	inner aws.CredentialsProvider
	mask  func(string)
}

// Retrieve implements aws.CredentialsProvider.
func (p *maskingProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.inner.Retrieve(ctx)
	if err != nil {
		return c, err
	}
	p.mask(c.AccessKeyID)
	p.mask(c.SecretAccessKey)
	p.mask(c.SessionToken)
	return c, nil
}
