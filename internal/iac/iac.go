// Package iac finds the lines of a workspace's infrastructure as code that
// reference a KMS key, so that reports (SARIF alerts, annotations) can point
// at the code that depends on a key pending deletion.
//
// It reads Terraform (.tf, .tf.json, .tfvars, .tfvars.json, Terragrunt .hcl)
// always, and YAML, JSON and .template files when they hold a CloudFormation
// resource type ("AWS::"), which covers CloudFormation and SAM templates and
// CDK output (cdk.out/*.template.json). A key is found by its ARN, its key id
// or any of its aliases, each as a whole token: alias/orders does not match
// alias/orders-v2, and a key id does not match inside a longer word. An ARN
// that names an account and region (of a key or an alias) only matches the
// key in that account and region.
//
// The walk skips .git, node_modules, vendor, .terraform, cdk.out asset
// directories, every hidden file and directory, symbolic links, files over
// Options.MaxFileSize and binary files (a NUL byte in the first 8000 bytes,
// as git decides). It stops early, and says so in Stats.Truncated, after
// Options.MaxFiles files or Options.MaxTotalBytes bytes, so a huge monorepo
// cannot stall the gate. All keys are matched in one pass over each file.
package iac

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// Default bounds of a walk.
const (
	DefaultMaxFileSize        = 2 << 20 // 2 MiB
	DefaultMaxFiles           = 200_000 // files read
	DefaultMaxTotalBytes      = 1 << 30 // 1 GiB read in all
	DefaultMaxLocationsPerKey = 100     // GitHub shows at most 100 locations of a result
	binarySniffLen            = 8000    // bytes checked for NUL, like git
	cloudFormationMarker      = "AWS::" // resource types: AWS::KMS::Key, AWS::Serverless::Function ...
)

// KeyRef identifies one key to look for. Account and Region, when set, let
// an ARN that names another account or region be told apart.
type KeyRef struct {
	ARN     string
	KeyID   string
	Aliases []string // "alias/name"; the "alias/" prefix is added if missing
	Account string
	Region  string
}

// KeyRefOf returns the reference to look for a finding's key.
func KeyRefOf(f finding.Finding) KeyRef {
	return KeyRef{ARN: f.ARN, KeyID: f.KeyID, Aliases: f.Aliases, Account: f.Account, Region: f.Region}
}

// Options bounds a walk. Zero values take the defaults above.
type Options struct {
	MaxFileSize        int64
	MaxFiles           int
	MaxTotalBytes      int64
	MaxLocationsPerKey int
	// Workers is the number of files read at once; default GOMAXPROCS.
	Workers int
}

// withDefaults replaces each zero or negative bound with its default.
func (o Options) withDefaults() Options {
	o.MaxFileSize = cmp.Or(max(o.MaxFileSize, 0), DefaultMaxFileSize)
	o.MaxFiles = cmp.Or(max(o.MaxFiles, 0), DefaultMaxFiles)
	o.MaxTotalBytes = cmp.Or(max(o.MaxTotalBytes, 0), DefaultMaxTotalBytes)
	o.MaxLocationsPerKey = cmp.Or(max(o.MaxLocationsPerKey, 0), DefaultMaxLocationsPerKey)
	o.Workers = cmp.Or(max(o.Workers, 0), runtime.GOMAXPROCS(0))
	return o
}

// Stats says what a walk read and what it left out.
type Stats struct {
	FilesScanned int   // infrastructure-as-code files read and matched
	BytesScanned int64 // bytes of those files
	FilesSkipped int   // candidates left out: too large, binary, not CloudFormation, unreadable
	Truncated    bool  // a bound (MaxFiles, MaxTotalBytes) stopped the walk early
	// Bound names the bound that stopped the walk ("20000 files",
	// "268435456 bytes") when Truncated.
	Bound string
}

// Warning is the run warning for a walk that a bound stopped early, or ""
// when the whole repository was searched. Keys referenced only in the files
// left out show no location: the reports must not read as "not in the code".
func (s Stats) Warning() string {
	if !s.Truncated {
		return ""
	}
	return fmt.Sprintf("the repository search for references to the keys stopped at its bound of %s after %d file(s); "+
		"a key referenced only in the files left out shows no location", s.Bound, s.FilesScanned)
}

// Find walks root once and returns, for each key (same index as keys), the
// lines that reference it, sorted by path then line, at most
// MaxLocationsPerKey each. Paths are slash-separated and relative to root;
// lines are 1-based. Unreadable files are skipped, not errors; an error means
// root could not be walked or ctx ended.
func Find(ctx context.Context, root string, keys []KeyRef, opts Options) ([][]finding.Location, Stats, error) {
	opts = opts.withDefaults()
	out := make([][]finding.Location, len(keys))
	var stats Stats
	root, err := resolveRoot(root)
	if err != nil {
		return out, stats, err
	}
	m := newMatcher(keys)
	if len(m.ids) == 0 {
		return out, stats, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, opts.Workers*4)
	results := make(chan fileResult, opts.Workers*4)
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			readFiles(ctx, opts, m, jobs, results)
		}()
	}
	w := &walker{root: root, opts: opts, jobs: jobs}
	go func() {
		defer close(jobs)
		w.walk(ctx)
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	for r := range results {
		if r.skipped {
			stats.FilesSkipped++
			continue
		}
		stats.FilesScanned++
		stats.BytesScanned += r.bytes
		for _, h := range r.hits {
			out[h.key] = append(out[h.key], finding.Location{Path: r.rel, Line: h.line, Match: h.match})
		}
	}
	// results is closed only after the walker closed jobs, so its fields are set.
	stats.FilesSkipped += w.skipped
	stats.Truncated, stats.Bound = w.bound != "", w.bound
	if err := ctx.Err(); err != nil {
		return out, stats, err
	}
	if w.err != nil && !errors.Is(w.err, fs.SkipAll) {
		return out, stats, fmt.Errorf("walk %s: %w", root, w.err)
	}
	sortAndCap(out, opts.MaxLocationsPerKey)
	return out, stats, nil
}

// resolveRoot follows root if it is itself a symbolic link (a container's
// mount; links inside it are not followed) and checks it is a directory.
func resolveRoot(root string) (string, error) {
	resolved, err := filepath.EvalSymlinks(root)
	if err != nil {
		return root, fmt.Errorf("infrastructure-as-code root: %w", err)
	}
	info, err := os.Stat(resolved)
	if err != nil {
		return root, fmt.Errorf("infrastructure-as-code root: %w", err)
	}
	if !info.IsDir() {
		return root, fmt.Errorf("infrastructure-as-code root %s is not a directory", resolved)
	}
	return resolved, nil
}

type job struct {
	abs, rel string
	ext      fileKind
}

type fileResult struct {
	hits    []hit
	rel     string
	bytes   int64
	skipped bool
}

// readFiles is one worker: it reads and matches the files of jobs until jobs
// is closed, draining without work once ctx ends.
func readFiles(ctx context.Context, opts Options, m *matcher, jobs <-chan job, results chan<- fileResult) {
	buf := make([]byte, 0, 64<<10)
	for j := range jobs {
		if ctx.Err() != nil {
			continue // drain
		}
		r := fileResult{rel: j.rel}
		data, err := ReadFile(j.abs, opts.MaxFileSize, buf)
		switch {
		case err != nil, isBinary(data), j.ext == kindCloudFormationCandidate && !bytes.Contains(data, []byte(cloudFormationMarker)):
			r.skipped = true
		default:
			r.bytes = int64(len(data))
			m.scan(data, func(h hit) { r.hits = append(r.hits, h) })
		}
		if cap(data) > cap(buf) && cap(data) <= 4<<20 {
			buf = data[:0]
		}
		select {
		case results <- r:
		case <-ctx.Done():
		}
	}
}

// walker queues the candidate files under root within the file and byte
// bounds. Its fields are written by the walking goroutine only.
type walker struct {
	root    string
	opts    Options
	jobs    chan<- job
	err     error
	skipped int
	bound   string // the bound that stopped the walk, "" if none
	files   int
	bytes   int64
}

func (w *walker) walk(ctx context.Context) {
	w.err = filepath.WalkDir(w.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == w.root {
				return err
			}
			w.skipped++ // unreadable directory: carry on with the rest
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if path == w.root {
			return nil
		}
		if d.IsDir() {
			if SkipDir(d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		return w.visitFile(ctx, path, d)
	})
}

func (w *walker) visitFile(ctx context.Context, path string, d fs.DirEntry) error {
	name := d.Name()
	if !d.Type().IsRegular() || strings.HasPrefix(name, ".") {
		return nil
	}
	kind := classify(name)
	if kind == kindNone {
		return nil
	}
	fi, err := d.Info()
	if err != nil || fi.Size() > w.opts.MaxFileSize {
		w.skipped++
		return nil
	}
	switch {
	case w.files >= w.opts.MaxFiles:
		w.bound = fmt.Sprintf("%d files", w.opts.MaxFiles)
		return fs.SkipAll
	case w.bytes+fi.Size() > w.opts.MaxTotalBytes:
		w.bound = fmt.Sprintf("%d bytes", w.opts.MaxTotalBytes)
		return fs.SkipAll
	}
	w.files++
	w.bytes += fi.Size()
	rel, err := filepath.Rel(w.root, path)
	if err != nil {
		return err
	}
	select {
	case w.jobs <- job{abs: path, rel: filepath.ToSlash(rel), ext: kind}:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// sortAndCap sorts each key's locations by path, line and match, then keeps
// the first max.
func sortAndCap(out [][]finding.Location, max int) {
	for i := range out {
		slices.SortFunc(out[i], func(a, b finding.Location) int {
			return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Match, b.Match))
		})
		if len(out[i]) > max {
			out[i] = out[i][:max]
		}
	}
}

// Locate fills the Locations of each finding with the lines of root's
// infrastructure as code that reference its key, replacing what was there.
func Locate(ctx context.Context, root string, findings []finding.Finding, opts Options) (Stats, error) {
	keys := make([]KeyRef, len(findings))
	for i, f := range findings {
		keys[i] = KeyRefOf(f)
	}
	locs, stats, err := Find(ctx, root, keys, opts)
	if err != nil {
		return stats, err
	}
	for i := range findings {
		findings[i].Locations = locs[i]
	}
	return stats, nil
}

type fileKind uint8

const (
	kindNone fileKind = iota
	kindTerraform
	kindCloudFormationCandidate // read only if it holds "AWS::"
)

func classify(name string) fileKind {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".tf"), strings.HasSuffix(lower, ".tf.json"),
		strings.HasSuffix(lower, ".tfvars"), strings.HasSuffix(lower, ".tfvars.json"),
		strings.HasSuffix(lower, ".hcl"):
		return kindTerraform
	case lower == "package.json", lower == "package-lock.json", lower == "tsconfig.json",
		lower == "composer.lock", lower == "cdk.context.json", lower == "manifest.json", lower == "tree.json":
		// Never templates; the last three are CDK's own metadata in cdk.out.
		return kindNone
	case strings.HasSuffix(lower, ".yaml"), strings.HasSuffix(lower, ".yml"),
		strings.HasSuffix(lower, ".json"), strings.HasSuffix(lower, ".template"):
		return kindCloudFormationCandidate
	}
	return kindNone
}

// SkipDir reports whether a directory of that name is left out of a walk of
// the workspace: dependencies, tool caches, hidden directories and CDK's
// bundled assets. Package plan's search for declarations skips the same.
func SkipDir(name string) bool {
	switch name {
	case "node_modules", "vendor", ".git", ".terraform", "__pycache__":
		return true
	}
	// Hidden directories, and CDK's bundled assets (cdk.out/asset.<hash>).
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "asset.")
}

// ReadFile reads at most limit bytes of path (the file may have grown since
// it was listed; a larger file is an error), reusing buf when it is large
// enough (buf may be nil).
func ReadFile(path string, limit int64, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := bytes.NewBuffer(buf[:0])
	if _, err := b.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, err
	}
	if int64(b.Len()) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b.Bytes(), nil
}

func isBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), binarySniffLen)], 0) >= 0
}
