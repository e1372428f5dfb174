// Command demoseed seeds a moto_server (or any KMS endpoint given by
// AWS_ENDPOINT_URL) with the demo's keys: in each region, keys pending
// deletion in 7, 11, 20 and 30 days, a disabled key and a healthy key. The
// windows are real ones: moto, like AWS, honours only 7 to 30 days (and
// silently ignores others), so the demo's config sets critical-days and
// high-days to spread these over every severity.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

var demoKeys = []moto.Key{
	{Alias: "alias/orders-db", Description: "Orders database (RDS)", PendingDays: 7, Tags: map[string]string{"team": "payments"}},
	{Alias: "alias/audit-logs", Description: "Audit log bucket", PendingDays: 11, Tags: map[string]string{"team": "security"}},
	{Alias: "alias/tmp-loadtest", Description: "Scratch key of the load test (allowlisted)", PendingDays: 20},
	{Alias: "alias/legacy-reports", Description: "Legacy reporting pipeline", PendingDays: 30},
	{Alias: "alias/old-backups", Description: "Disabled, not scheduled", Disable: true},
	{Alias: "alias/app-live", Description: "Healthy key in use"},
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
			k.Alias += "-" + region
			s, err := moto.SeedKey(ctx, c, k)
			if err != nil {
				return fmt.Errorf("%s: %w", region, err)
			}
			state := "Enabled"
			switch {
			case k.PendingDays > 0:
				state = fmt.Sprintf("PendingDeletion in %d days", k.PendingDays)
			case k.Disable:
				state = "Disabled"
			}
			fmt.Printf("seeded %-10s %-28s %s  %s\n", region, k.Alias, s.ID, state)
		}
	}
	return nil
}
