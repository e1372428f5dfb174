// Command latencyproxy runs a latencyproxy.Proxy in front of an AWS emulator
// for benchmarks and manual tests:
//
//	go run ./internal/testutil/latencyproxy/cmd -target http://127.0.0.1:5000 -delay 30ms -addr-file proxy.addr
//
// It listens on a loopback port (free by default), writes its base URL to
// -addr-file once it accepts connections, and serves until SIGINT/SIGTERM or
// -max-lifetime (a bound, so a forgotten proxy never outlives its benchmark).
// Counters: GET <url>/__latencyproxy/counts, POST <url>/__latencyproxy/reset.
// Unless -emulate=false, what moto 5.2.1 lacks is answered (after the same
// delay) by awsfake, the tests' one emulation: KMS GetKeyLastUsage ("no use
// recorded" since -tracking-age ago, or what was POSTed to
// /__awsfake/key-last-usage) and CloudTrail LookupEvents (the
// ScheduleKeyDeletion calls that went through this proxy).
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/atomicfile"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/awsfake"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/latencyproxy"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		target   = flag.String("target", "", "base URL requests are forwarded to (required), e.g. http://127.0.0.1:5000")
		listen   = flag.String("listen", "127.0.0.1:0", "loopback address to listen on")
		delay    = flag.Duration("delay", 30*time.Millisecond, "round-trip delay added to every request")
		addrFile = flag.String("addr-file", "", "write the proxy's base URL to this file once listening")
		lifetime = flag.Duration("max-lifetime", 2*time.Hour, "exit after this long whatever happens")
		trace    = flag.Bool("trace", false, "record every request's start and end (GET <url>/__latencyproxy/trace)")
		emulate  = flag.Bool("emulate", true, "answer KMS GetKeyLastUsage and CloudTrail LookupEvents (which moto lacks) with awsfake instead of forwarding them")
		tracking = flag.Duration("tracking-age", 90*24*time.Hour, "with -emulate: how long before now usage tracking started for keys with no recorded use")
	)
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		fmt.Fprintf(os.Stderr, "latencyproxy: -target must be a URL like http://127.0.0.1:5000 (got %q)\n", *target)
		return 2
	}
	if host := strings.Split(*listen, ":")[0]; host != "127.0.0.1" && host != "localhost" && host != "[::1]" {
		fmt.Fprintf(os.Stderr, "latencyproxy: -listen must be a loopback address (got %q)\n", *listen)
		return 2
	}
	p := latencyproxy.New(u, *delay)
	p.Trace = *trace
	if *emulate {
		fake := awsfake.NewEmulator()
		fake.SetAnyKeyUsage(awsfake.KeyLastUsage{TrackingStartDate: time.Now().Add(-*tracking)})
		p.Front = fake.Front
	}
	srv, err := latencyproxy.Start(*listen, p)
	if err != nil {
		fmt.Fprintf(os.Stderr, "latencyproxy: listen %s: %v\n", *listen, err)
		return 1
	}
	if *addrFile != "" {
		if err := atomicfile.WriteFile(*addrFile, []byte(srv.URL+"\n"), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "latencyproxy: write %s: %v\n", *addrFile, err)
			_ = srv.Close()
			return 1
		}
	}
	fmt.Fprintf(os.Stderr, "latencyproxy: %s -> %s (+%s per request)\n", srv.URL, u, *delay)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *lifetime)
	defer cancel()
	<-ctx.Done()
	_ = srv.Close()
	return 0
}
