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
	mu        sync.Mutex
	configs   map[string]aws.Config
	kmsByAcct map[string]*kms.Client
	ctByKey   map[string]*cloudtrail.Client
}

func newClientCache() *clientCache {
	return &clientCache{configs: map[string]aws.Config{}, kmsByAcct: map[string]*kms.Client{}, ctByKey: map[string]*cloudtrail.Client{}}
}

// add makes a's clients available; accounts are added as they are resolved,
// while others are scanned.
func (c *clientCache) add(a creds.Account) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.configs[a.ID] = a.Config
}

// config is the account's configuration; c.mu must be held.
func (c *clientCache) config(account string) (aws.Config, bool) {
	cfg, ok := c.configs[account]
	return cfg, ok
}

// kms is the account's KMS client used in region. An account has one KMS
// client for all its Regions, the Region set per call: a client per account
// and Region (17,000 for 1,000 accounts) held about 80 MB.
func (c *clientCache) kms(account, region string) *regionalKMS {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.kmsByAcct[account]
	if !ok {
		cfg, ok := c.config(account)
		if !ok {
			return nil
		}
		cl = kms.NewFromConfig(cfg)
		c.kmsByAcct[account] = cl
	}
	return &regionalKMS{c: cl, region: region}
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

// regionalKMS is a KMS client bound to one Region.
type regionalKMS struct {
	c      *kms.Client
	region string
}

func (r *regionalKMS) in(optFns []func(*kms.Options)) []func(*kms.Options) {
	return append(optFns[:len(optFns):len(optFns)], func(o *kms.Options) { o.Region = r.region })
}

func (r *regionalKMS) ListKeys(ctx context.Context, in *kms.ListKeysInput, optFns ...func(*kms.Options)) (*kms.ListKeysOutput, error) {
	return r.c.ListKeys(ctx, in, r.in(optFns)...)
}

func (r *regionalKMS) DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	return r.c.DescribeKey(ctx, in, r.in(optFns)...)
}

func (r *regionalKMS) ListAliases(ctx context.Context, in *kms.ListAliasesInput, optFns ...func(*kms.Options)) (*kms.ListAliasesOutput, error) {
	return r.c.ListAliases(ctx, in, r.in(optFns)...)
}

func (r *regionalKMS) ListResourceTags(ctx context.Context, in *kms.ListResourceTagsInput, optFns ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error) {
	return r.c.ListResourceTags(ctx, in, r.in(optFns)...)
}

func (r *regionalKMS) GetKeyLastUsage(ctx context.Context, in *kms.GetKeyLastUsageInput, optFns ...func(*kms.Options)) (*kms.GetKeyLastUsageOutput, error) {
	return r.c.GetKeyLastUsage(ctx, in, r.in(optFns)...)
}

func (r *regionalKMS) CancelKeyDeletion(ctx context.Context, in *kms.CancelKeyDeletionInput, optFns ...func(*kms.Options)) (*kms.CancelKeyDeletionOutput, error) {
	return r.c.CancelKeyDeletion(ctx, in, r.in(optFns)...)
}

func (r *regionalKMS) EnableKey(ctx context.Context, in *kms.EnableKeyInput, optFns ...func(*kms.Options)) (*kms.EnableKeyOutput, error) {
	return r.c.EnableKey(ctx, in, r.in(optFns)...)
}
