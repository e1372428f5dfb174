package app

import (
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/creds"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/forensics"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/remediate"
)

// clientCache builds one AWS client per account, region and service, on
// first use, from the account's credentials. Findings carry the account ID
// that KMS reported, which is the key here.
type clientCache struct {
	mu       sync.Mutex
	configs  map[string]aws.Config
	kmsByKey map[string]*kms.Client
	ctByKey  map[string]*cloudtrail.Client
}

func newClientCache(accounts []creds.Account) *clientCache {
	c := &clientCache{configs: map[string]aws.Config{}, kmsByKey: map[string]*kms.Client{}, ctByKey: map[string]*cloudtrail.Client{}}
	for _, a := range accounts {
		c.configs[a.ID] = a.Config
	}
	return c
}

func (c *clientCache) config(account string) (aws.Config, bool) {
	cfg, ok := c.configs[account]
	return cfg, ok
}

func (c *clientCache) kms(account, region string) *kms.Client {
	return cached(c, c.kmsByKey, account, region, func(cfg aws.Config) *kms.Client {
		return kms.NewFromConfig(cfg, func(o *kms.Options) { o.Region = region })
	})
}

func (c *clientCache) cloudtrail(account, region string) *cloudtrail.Client {
	return cached(c, c.ctByKey, account, region, func(cfg aws.Config) *cloudtrail.Client {
		return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.Region = region })
	})
}

// cached returns the client of one account and region from m, building it on
// first use; nil for an account without credentials.
func cached[T any](c *clientCache, m map[string]*T, account, region string, build func(aws.Config) *T) *T {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := account + "/" + region
	if cl, ok := m[k]; ok {
		return cl
	}
	cfg, ok := c.config(account)
	if !ok {
		return nil
	}
	cl := build(cfg)
	m[k] = cl
	return cl
}

// forensics gives package forensics its clients; nil interfaces for an
// account the run has no credentials for.
func (c *clientCache) forensics(account, region string) (forensics.KeyUsageAPI, forensics.LookupEventsAPI) {
	k, ct := c.kms(account, region), c.cloudtrail(account, region)
	if k == nil || ct == nil {
		return nil, nil
	}
	return k, ct
}

func (c *clientCache) remediate(account, region string) remediate.KMSAPI {
	if k := c.kms(account, region); k != nil {
		return k
	}
	return nil
}
