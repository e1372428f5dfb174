package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"golang.org/x/sync/errgroup"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// Manifest records what was seeded, per region in ListKeys order, so a run
// can be checked against it.
type Manifest struct {
	Endpoint      string                    `json:"endpoint"`
	KeysPerRegion int                       `json:"keys_per_region"`
	Regions       []string                  `json:"regions"`
	ByRegion      map[string]RegionManifest `json:"by_region"`
}

// RegionManifest is what one region holds.
type RegionManifest struct {
	Keys     []string `json:"keys"`     // every customer key, ListKeys order
	Pending  []string `json:"pending"`  // PendingDeletion
	Disabled []string `json:"disabled"` // Disabled (not scheduled)
	Aliases  int      `json:"aliases"`
}

// Seeding pattern: the key at ListKeys position i of a region is pending deletion when
// i%pendingEvery == pendingOffset (4% by default, and one in the first
// pendingEvery keys, so the small subset the AWS CLI baseline describes holds
// a pending key), disabled when i%disabledEvery == disabledOffset (5%),
// aliased every aliasEvery keys and tagged every tagEvery keys.
const (
	pendingOffset  = 3
	disabledOffset = 7
	aliasEvery     = 10
	tagEvery       = 4
)

func runSeed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "moto_server base URL (loopback)")
	regions := fs.String("regions", "us-east-1,eu-west-1,ap-southeast-2,sa-east-1", "comma-separated regions")
	keys := fs.Int("keys", 250, "customer keys per region")
	pendingEvery := fs.Int("pending-every", 25, "every Nth key is scheduled for deletion")
	disabledEvery := fs.Int("disabled-every", 20, "every Nth key is disabled")
	concurrency := fs.Int("concurrency", 8, "seeding calls in flight")
	out := fs.String("out", "manifest.json", "where to write the manifest")
	timeout := fs.Duration("timeout", 10*time.Minute, "bound on the whole seeding")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback(*endpoint); err != nil {
		return err
	}
	if *keys < 1 || *pendingEvery < 1 || *disabledEvery < 1 || *concurrency < 1 {
		return errors.New("-keys, -pending-every, -disabled-every and -concurrency must be >= 1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	m := Manifest{Endpoint: *endpoint, KeysPerRegion: *keys, ByRegion: map[string]RegionManifest{}}
	for _, r := range strings.Split(*regions, ",") {
		if r = strings.TrimSpace(r); r != "" {
			m.Regions = append(m.Regions, r)
		}
	}
	start := time.Now()
	for _, region := range m.Regions {
		client := kmsClient(*endpoint, region)
		rm := RegionManifest{}
		cg, cctx := errgroup.WithContext(ctx)
		cg.SetLimit(*concurrency)
		for i := range *keys {
			cg.Go(func() error {
				k := moto.Key{Description: fmt.Sprintf("bench key %d in %s", i, region)}
				if i%tagEvery == 0 {
					k.Tags = map[string]string{"team": fmt.Sprintf("team-%d", i%7), "env": "bench"}
				}
				if _, err := moto.SeedKey(cctx, client, k); err != nil {
					return fmt.Errorf("key %d in %s: %w", i, region, err)
				}
				return nil
			})
		}
		if err := cg.Wait(); err != nil {
			return err
		}
		// Roles follow ListKeys order (what a scanner and the AWS CLI see),
		// not creation order, which concurrency scrambles.
		var marker *string
		for {
			page, err := client.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1000), Marker: marker})
			if err != nil {
				return fmt.Errorf("list keys in %s: %w", region, err)
			}
			for _, k := range page.Keys {
				rm.Keys = append(rm.Keys, aws.ToString(k.KeyId))
			}
			if !page.Truncated || page.NextMarker == nil || len(rm.Keys) > 10*(*keys) {
				break
			}
			marker = page.NextMarker
		}
		if len(rm.Keys) != *keys {
			return fmt.Errorf("%s holds %d keys, want %d: seed an empty moto_server", region, len(rm.Keys), *keys)
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(*concurrency)
		for i, id := range rm.Keys {
			pending := i%*pendingEvery == pendingOffset%*pendingEvery
			disabled := !pending && i%*disabledEvery == disabledOffset%*disabledEvery
			if pending {
				rm.Pending = append(rm.Pending, id)
			}
			if disabled {
				rm.Disabled = append(rm.Disabled, id)
			}
			k := moto.Key{Disable: disabled}
			if i%aliasEvery == 0 || pending {
				k.Alias = fmt.Sprintf("alias/bench-%s-%04d", region, i)
				rm.Aliases++
			}
			if pending {
				k.PendingDays = 7 + i%24
			}
			g.Go(func() error {
				_, err := moto.Apply(gctx, client, id, k)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		m.ByRegion[region] = rm
	}
	total, pending := 0, 0
	for _, rm := range m.ByRegion {
		total += len(rm.Keys)
		pending += len(rm.Pending)
	}
	fmt.Fprintf(os.Stderr, "seeded %d keys (%d pending deletion) in %d regions in %s\n", total, pending, len(m.Regions), time.Since(start).Round(time.Millisecond))
	return writeJSON(*out, m)
}

func kmsClient(endpoint, region string) *kms.Client {
	return kms.NewFromConfig(moto.Config(endpoint, region), func(o *kms.Options) { o.RetryMaxAttempts = 3 })
}

func checkLoopback(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("-endpoint must be a URL like http://127.0.0.1:5000 (got %q)", endpoint)
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return nil
	}
	return fmt.Errorf("-endpoint %q is not a loopback address: the benchmark only talks to a local emulator", endpoint)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
