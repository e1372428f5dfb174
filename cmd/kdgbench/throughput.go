package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"golang.org/x/sync/errgroup"
)

// Throughput is moto's measured DescribeKey rate, called directly (no proxy).
type Throughput struct {
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	Calls       int64   `json:"calls"`
	Errors      int64   `json:"errors"`
	PerSecond   float64 `json:"per_second"`
}

func runThroughput(args []string) error {
	fs := flag.NewFlagSet("throughput", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "moto_server base URL (loopback), not the proxy")
	region := fs.String("region", "us-east-1", "region whose keys are described")
	concurrency := fs.Int("concurrency", 16, "calls in flight")
	duration := fs.Duration("duration", 3*time.Second, "how long to measure")
	maxCalls := fs.Int64("max-calls", 20000, "stop after this many calls whatever the duration")
	out := fs.String("out", "throughput.json", "where to write the result")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback(*endpoint); err != nil {
		return err
	}
	if *concurrency < 1 || *duration <= 0 || *duration > time.Minute {
		return errors.New("-concurrency must be >= 1 and -duration in (0, 1m]")
	}
	client := kmsClient(*endpoint, *region)
	ctx, cancel := context.WithTimeout(context.Background(), *duration+30*time.Second)
	defer cancel()
	page, err := client.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1000)})
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	if len(page.Keys) == 0 {
		return fmt.Errorf("no keys in %s: seed first", *region)
	}
	// Warm up the connections so that dialing is not measured.
	for i := 0; i < *concurrency && i < len(page.Keys); i++ {
		if _, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: page.Keys[i].KeyId}); err != nil {
			return fmt.Errorf("describe key: %w", err)
		}
	}
	var calls, errs atomic.Int64
	start := time.Now()
	deadline := start.Add(*duration)
	var g errgroup.Group
	for w := range *concurrency {
		g.Go(func() error {
			for i := w; time.Now().Before(deadline) && calls.Load() < *maxCalls; i += *concurrency {
				k := page.Keys[i%len(page.Keys)]
				if _, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId}); err != nil {
					errs.Add(1)
				}
				calls.Add(1)
			}
			return nil
		})
	}
	_ = g.Wait()
	secs := time.Since(start).Seconds()
	t := Throughput{Concurrency: *concurrency, Seconds: secs, Calls: calls.Load(), Errors: errs.Load(), PerSecond: float64(calls.Load()-errs.Load()) / secs}
	fmt.Fprintf(os.Stderr, "moto DescribeKey throughput: %.0f calls/s (%d calls, %d errors, concurrency %d, %.1fs)\n", t.PerSecond, t.Calls, t.Errors, t.Concurrency, t.Seconds)
	return writeJSON(*out, t)
}
