package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"syscall"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/awssim"
)

// WorldFile describes a generated scenario for the scale report: what the
// simulator serves, its round trips and quotas, and the accounts the sampled
// baselines scan.
type WorldFile struct {
	Scenario string                  `json:"scenario"`
	Seed     uint64                  `json:"seed"`
	Base     string                  `json:"base"`
	Members  []string                `json:"members"`
	Regions  []string                `json:"regions"`
	RTTms    map[string]float64      `json:"rtt_ms"`
	Quotas   map[string]awssim.Quota `json:"quotas"`
	Counts   []awssim.KeyCount       `json:"counts"`
	// Sample is a stratified sample of Members (every Nth by key count) for
	// the boto3 baseline, which cannot scan the whole organization in time.
	Sample []string `json:"sample"`
}

// runSim serves a generated world on a loopback port until killed (or
// -max-lifetime), after writing its address and a WorldFile.
func runSim(args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	scenario := fs.String("scenario", awssim.ScenarioOrg, "org or single")
	seed := fs.Uint64("seed", 1, "generator seed")
	members := fs.Int("members", 1000, "member accounts (org)")
	sampleEvery := fs.Int("sample-every", 10, "the boto3 sample takes every Nth member by key count")
	addrFile := fs.String("addr-file", "", "write the base URL here once listening")
	worldOut := fs.String("world-out", "", "write the WorldFile here")
	lifetime := fs.Duration("max-lifetime", time.Hour, "exit after this long")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the server here (until it exits)")
	trace := fs.Bool("trace", false, "record every call for GET /__awssim/trace")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w, err := awssim.Generate(*scenario, *seed, *members, time.Now())
	if err != nil {
		return err
	}
	if *worldOut != "" {
		if err := writeJSON(*worldOut, worldFile(w, *scenario, *seed, *sampleEvery)); err != nil {
			return err
		}
	}
	srv := awssim.New(w, awssim.Options{Trace: *trace})
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ConnState: srv.Calls.ConnState, ReadHeaderTimeout: 10 * time.Second}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte("http://"+ln.Addr().String()), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "awssim: %s scenario on http://%s\n", *scenario, ln.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), *lifetime)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = hs.Close()
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func worldFile(w *awssim.World, scenario string, seed uint64, every int) WorldFile {
	wf := WorldFile{Scenario: scenario, Seed: seed, Base: w.Base, Members: w.Members, Regions: w.Regions,
		RTTms: map[string]float64{}, Quotas: awssim.DefaultQuotas, Counts: w.Counts()}
	for _, r := range w.Regions {
		wf.RTTms[r] = float64(awssim.DefaultRTT(r)) / float64(time.Millisecond)
	}
	perAccount := map[string]int{}
	for _, c := range wf.Counts {
		perAccount[c.Account] += c.Keys
	}
	byKeys := append([]string(nil), w.Members...)
	sort.SliceStable(byKeys, func(i, j int) bool { return perAccount[byKeys[i]] < perAccount[byKeys[j]] })
	for i := every / 2; i < len(byKeys) && every > 0; i += every {
		wf.Sample = append(wf.Sample, byKeys[i])
	}
	sort.Strings(wf.Sample)
	return wf
}
