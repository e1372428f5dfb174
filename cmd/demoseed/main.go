// Command demoseed seeds a moto_server (or any KMS endpoint given by
// AWS_ENDPOINT_URL) with the demo's keys: in each region, keys pending
// deletion in 7, 11, 20 and 30 days, a disabled key and a healthy key. The
// demo judges them as of five days later (KMS_DELETION_GATE_NOW), when they
// are 2, 6, 15 and 25 days from deletion: moto, like AWS, only accepts
// deletion windows of 7 to 30 days.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

type key struct {
	alias, description string
	window             int32 // 0: not scheduled
	disable            bool
	tags               map[string]string
}

var demoKeys = []key{
	{alias: "alias/orders-db", description: "Orders database (RDS)", window: 7, tags: map[string]string{"team": "payments"}},
	{alias: "alias/audit-logs", description: "Audit log bucket", window: 11, tags: map[string]string{"team": "security"}},
	{alias: "alias/tmp-loadtest", description: "Scratch key of the load test (allowlisted)", window: 20},
	{alias: "alias/legacy-reports", description: "Legacy reporting pipeline", window: 30},
	{alias: "alias/old-backups", description: "Disabled, not scheduled", disable: true},
	{alias: "alias/app-live", description: "Healthy key in use"},
}

func main() {
	regions := flag.String("regions", "us-east-1,eu-west-1", "regions to seed")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := seed(ctx, strings.Split(*regions, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "demoseed:", err)
		os.Exit(1)
	}
}

func seed(ctx context.Context, regions []string) error {
	for _, region := range regions {
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
		if err != nil {
			return err
		}
		c := kms.NewFromConfig(cfg)
		for _, k := range demoKeys {
			alias := k.alias + "-" + region
			var tags []types.Tag
			for tk, tv := range k.tags {
				tags = append(tags, types.Tag{TagKey: aws.String(tk), TagValue: aws.String(tv)})
			}
			out, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(k.description), Tags: tags})
			if err != nil {
				return fmt.Errorf("create key in %s: %w", region, err)
			}
			id := aws.ToString(out.KeyMetadata.KeyId)
			if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(id)}); err != nil {
				return fmt.Errorf("create alias %s: %w", alias, err)
			}
			if k.window > 0 {
				if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(k.window)}); err != nil {
					return fmt.Errorf("schedule deletion of %s: %w", alias, err)
				}
			}
			if k.disable {
				if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(id)}); err != nil {
					return fmt.Errorf("disable %s: %w", alias, err)
				}
			}
			state := "Enabled"
			switch {
			case k.window > 0:
				state = fmt.Sprintf("PendingDeletion in %d days", k.window)
			case k.disable:
				state = "Disabled"
			}
			fmt.Printf("seeded %-10s %-28s %s  %s\n", region, alias, id, state)
		}
	}
	return nil
}
