package app

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/creds"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/forensics"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/pace"
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
	c.mu.Lock()
	defer c.mu.Unlock()
	k := account + "/" + region
	if cl, ok := c.kmsByKey[k]; ok {
		return cl
	}
	cfg, ok := c.config(account)
	if !ok {
		return nil
	}
	cl := kms.NewFromConfig(cfg, func(o *kms.Options) { o.Region = region })
	c.kmsByKey[k] = cl
	return cl
}

func (c *clientCache) cloudtrail(account, region string) *cloudtrail.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := account + "/" + region
	if cl, ok := c.ctByKey[k]; ok {
		return cl
	}
	cfg, ok := c.config(account)
	if !ok {
		return nil
	}
	cl := cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.Region = region })
	c.ctByKey[k] = cl
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

// pacedForensics is forensics' clients with GetKeyLastUsage under the
// pacer, as the scan's KMS calls are (CloudTrail has forensics' own pacing).
func (c *clientCache) pacedForensics(p *pace.Pacer) forensics.Clients {
	return func(account, region string) (forensics.KeyUsageAPI, forensics.LookupEventsAPI) {
		k, ct := c.forensics(account, region)
		if k == nil {
			return nil, nil
		}
		return pacedUsage{api: k, pacer: p, account: account, region: region}, ct
	}
}

type pacedUsage struct {
	api             forensics.KeyUsageAPI
	pacer           *pace.Pacer
	account, region string
}

func (u pacedUsage) GetKeyLastUsage(ctx context.Context, in *kms.GetKeyLastUsageInput, optFns ...func(*kms.Options)) (out *kms.GetKeyLastUsageOutput, err error) {
	err = u.pacer.Do(ctx, u.account, u.region, "GetKeyLastUsage", func(ctx context.Context) error {
		out, err = u.api.GetKeyLastUsage(ctx, in, optFns...)
		return err
	})
	return out, err
}

func (c *clientCache) remediate(account, region string) remediate.KMSAPI {
	if k := c.kms(account, region); k != nil {
		return k
	}
	return nil
}
