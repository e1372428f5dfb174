package iac

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

const (
	ordersID  = "1234abcd-12ab-34cd-56ef-1234567890ab"
	ordersARN = "arn:aws:kms:us-east-1:111122223333:key/" + ordersID
	mrkID     = "mrk-0123456789abcdef0123456789abcdef"
	mrkARN    = "arn:aws:kms:eu-west-1:111122223333:key/" + mrkID
	otherID   = "abcd1234-0000-4000-8000-000000000001"
)

var testKeys = []KeyRef{
	{ARN: ordersARN, KeyID: ordersID, Aliases: []string{"alias/orders"}, Account: "111122223333", Region: "us-east-1"},
	{ARN: mrkARN, KeyID: mrkID, Aliases: []string{"payments"}, Account: "111122223333", Region: "eu-west-1"},
	{ARN: "arn:aws:kms:us-east-1:444455556666:key/" + otherID, KeyID: otherID, Account: "444455556666", Region: "us-east-1"},
}

func writeTree(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func loc(path string, line int, match string) finding.Location {
	return finding.Location{Path: path, Line: line, Match: match}
}

func TestFind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		opts  Options
		want  [][]finding.Location
		stats Stats
	}{
		{
			name: "terraform alias, arn and key id",
			files: map[string]string{
				"infra/main.tf":     "resource \"aws_kms_alias\" \"orders\" {\n  name          = \"alias/orders\"\n  target_key_id = \"" + ordersID + "\"\n}\n",
				"infra/prod.tfvars": "# keys\nkms_key_arn = \"" + ordersARN + "\"\n",
			},
			want: [][]finding.Location{{
				loc("infra/main.tf", 2, "alias/orders"),
				loc("infra/main.tf", 3, ordersID),
				loc("infra/prod.tfvars", 2, ordersARN),
			}, nil, nil},
			stats: Stats{FilesScanned: 2},
		},
		{
			name: "alias is matched as a whole token only",
			files: map[string]string{
				"a.tf": "a = \"alias/orders-v2\"\nb = \"alias/orders/legacy\"\nc = \"xalias/orders\"\nd = \"alias/orders\"\ne = \"alias/orders_old\"\n",
			},
			want:  [][]finding.Location{{loc("a.tf", 4, "alias/orders")}, nil, nil},
			stats: Stats{FilesScanned: 1},
		},
		{
			name: "key id inside a longer word is not a reference",
			files: map[string]string{
				"a.tf": "a = \"" + ordersID + "0\"\nb = \"x" + ordersID + "\"\nc = \"" + ordersID + "_backup\"\nd = [\"" + ordersID + "\"]\n",
			},
			want:  [][]finding.Location{{loc("a.tf", 4, ordersID)}, nil, nil},
			stats: Stats{FilesScanned: 1},
		},
		{
			name: "alias arn only matches in its own account and region",
			files: map[string]string{
				"template.yaml": "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      KmsKeyArn: arn:aws:kms:us-east-1:111122223333:alias/orders\n      Other: arn:aws:kms:us-west-2:111122223333:alias/orders\n      Third: arn:aws:kms:us-east-1:999999999999:key/" + ordersID + "\n",
			},
			want:  [][]finding.Location{{loc("template.yaml", 6, "alias/orders")}, nil, nil},
			stats: Stats{FilesScanned: 1},
		},
		{
			name: "cdk output with a partly interpolated arn, and an mrk alias without prefix",
			files: map[string]string{
				"cdk.out/App.template.json": "{\n \"Resources\": {\n  \"K\": {\n   \"Type\": \"AWS::KMS::Alias\",\n   \"Properties\": {\n    \"AliasName\": \"alias/payments\",\n    \"TargetKeyId\": {\"Fn::Join\": [\"\", [\"arn:\", {\"Ref\": \"AWS::Partition\"}, \":kms:eu-west-1:111122223333:key/" + mrkID + "\"]]}\n   }\n  }\n }\n}\n",
				"cdk.out/manifest.json":     "{\"x\": \"AWS::KMS alias/payments\"}\n",
				"cdk.out/asset.abc/x.json":  "{\"x\": \"AWS:: alias/payments\"}\n",
			},
			want: [][]finding.Location{nil, {
				loc("cdk.out/App.template.json", 6, "alias/payments"),
				loc("cdk.out/App.template.json", 7, mrkID),
			}, nil},
			stats: Stats{FilesScanned: 1},
		},
		{
			name: "yaml and json that are not cloudformation are skipped",
			files: map[string]string{
				"k8s/deploy.yaml": "env:\n  KEY: " + ordersARN + "\n",
				"data.json":       "{\"k\": \"" + ordersID + "\"}",
			},
			want:  [][]finding.Location{nil, nil, nil},
			stats: Stats{FilesSkipped: 2},
		},
		{
			name: "skipped directories, hidden files, other extensions",
			files: map[string]string{
				"node_modules/m/main.tf":    "k = \"alias/orders\"\n",
				"vendor/v.tf":               "k = \"alias/orders\"\n",
				".terraform/modules/x/a.tf": "k = \"alias/orders\"\n",
				".github/kms.yml":           "AWS:: alias/orders\n",
				"mod/.hidden.tf":            "k = \"alias/orders\"\n",
				"README.md":                 "alias/orders\n",
				"src/main.go":               "\"alias/orders\"\n",
				"mod/.terraform.lock.hcl":   "alias/orders\n",
				"live/prod/terragrunt.hcl":  "inputs = { key = \"alias/orders\" }\n",
			},
			want:  [][]finding.Location{{loc("live/prod/terragrunt.hcl", 1, "alias/orders")}, nil, nil},
			stats: Stats{FilesScanned: 1},
		},
		{
			name: "binary and oversized files are skipped",
			files: map[string]string{
				"bin.tf":   "alias/orders\x00\x01\x02",
				"big.tf":   "k = \"alias/orders\"\n" + strings.Repeat("#", 200),
				"small.tf": "k = \"alias/orders\"\n",
			},
			opts:  Options{MaxFileSize: 100},
			want:  [][]finding.Location{{loc("small.tf", 1, "alias/orders")}, nil, nil},
			stats: Stats{FilesScanned: 1, FilesSkipped: 2},
		},
		{
			name: "crlf line endings and several keys on one line",
			files: map[string]string{
				"w.tf": "# a\r\n# b\r\nkeys = [\"alias/orders\", \"" + mrkARN + "\", \"" + ordersARN + "\"]\r\n",
			},
			want: [][]finding.Location{
				{loc("w.tf", 3, "alias/orders")},
				{loc("w.tf", 3, mrkARN)},
				nil,
			},
			stats: Stats{FilesScanned: 1},
		},
		{
			name: "bounds stop the walk and say so",
			files: map[string]string{
				"a.tf": "alias/orders\n",
				"b.tf": "alias/orders\n",
				"c.tf": "alias/orders\n",
			},
			opts:  Options{MaxFiles: 2},
			want:  [][]finding.Location{{loc("a.tf", 1, "alias/orders"), loc("b.tf", 1, "alias/orders")}, nil, nil},
			stats: Stats{FilesScanned: 2, Truncated: true, Bound: "2 files"},
		},
		{
			name: "the byte bound stops the walk and is named",
			files: map[string]string{
				"a.tf": "alias/orders\n",
				"b.tf": "alias/orders\n",
			},
			opts:  Options{MaxTotalBytes: 20},
			want:  [][]finding.Location{{loc("a.tf", 1, "alias/orders")}, nil, nil},
			stats: Stats{FilesScanned: 1, Truncated: true, Bound: "20 bytes"},
		},
		{
			name: "locations per key are capped after sorting",
			files: map[string]string{
				"a.tf": "alias/orders\nalias/orders\nalias/orders\n",
			},
			opts:  Options{MaxLocationsPerKey: 2},
			want:  [][]finding.Location{{loc("a.tf", 1, "alias/orders"), loc("a.tf", 2, "alias/orders")}, nil, nil},
			stats: Stats{FilesScanned: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			writeTree(t, root, tc.files)
			got, stats, err := Find(context.Background(), root, testKeys, tc.opts)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("locations:\n got %v\nwant %v", got, tc.want)
			}
			stats.BytesScanned = 0
			if stats != tc.stats {
				t.Errorf("stats = %+v, want %+v", stats, tc.stats)
			}
		})
	}
}

func TestFindErrors(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"a.tf": "alias/orders\n", "f.txt": "x"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		root string
		want error
	}{
		{"missing root", context.Background(), filepath.Join(root, "nope"), os.ErrNotExist},
		{"root is a file", context.Background(), filepath.Join(root, "f.txt"), nil},
		{"cancelled", ctx, root, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Find(tc.ctx, tc.root, testKeys, Options{})
			if err == nil {
				t.Fatal("Find succeeded, want an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFindSymlinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	realDir := filepath.Join(dir, "realDir")
	outside := filepath.Join(dir, "outside")
	writeTree(t, realDir, map[string]string{"a.tf": "alias/orders\n"})
	writeTree(t, outside, map[string]string{"b.tf": "alias/orders\n"})
	link := filepath.Join(dir, "workspace")
	if err := os.Symlink(realDir, link); err != nil {
		t.Fatal(err)
	}
	// Links inside the workspace are not followed: they could leave it.
	if err := os.Symlink(outside, filepath.Join(realDir, "linked")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "b.tf"), filepath.Join(realDir, "c.tf")); err != nil {
		t.Fatal(err)
	}
	got, _, err := Find(context.Background(), link, testKeys, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []finding.Location{loc("a.tf", 1, "alias/orders")}; !reflect.DeepEqual(got[0], want) {
		t.Errorf("locations = %v, want %v", got[0], want)
	}
}

func TestFindNoKeys(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"a.tf": "alias/orders\n"})
	got, stats, err := Find(context.Background(), root, []KeyRef{{Aliases: []string{"alias/"}}}, Options{})
	if err != nil || len(got) != 1 || got[0] != nil || stats.FilesScanned != 0 {
		t.Fatalf("Find with no usable identifiers = %v, %+v, %v", got, stats, err)
	}
}

func TestLocate(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"kms.tf": "a = \"alias/orders\"\nb = \"" + mrkID + "\"\n"})
	findings := []finding.Finding{
		{ARN: ordersARN, KeyID: ordersID, Aliases: []string{"alias/orders"}, Account: "111122223333", Region: "us-east-1",
			Locations: []finding.Location{loc("stale.tf", 9, "x")}},
		{ARN: mrkARN, KeyID: mrkID, Account: "111122223333", Region: "eu-west-1"},
		{ARN: "arn:aws:kms:us-east-1:111122223333:key/" + otherID, KeyID: otherID},
	}
	if _, err := Locate(context.Background(), root, findings, Options{}); err != nil {
		t.Fatal(err)
	}
	want := [][]finding.Location{{loc("kms.tf", 1, "alias/orders")}, {loc("kms.tf", 2, mrkID)}, nil}
	for i, f := range findings {
		if !reflect.DeepEqual(f.Locations, want[i]) {
			t.Errorf("finding %d locations = %v, want %v", i, f.Locations, want[i])
		}
	}
}

// naiveLines lists the 1-based lines holding s with no token byte either side.
func naiveLines(data []byte, s string) []int {
	var lines []int
	for i, line := range bytes.Split(data, []byte("\n")) {
		for off := 0; ; {
			j := bytes.Index(line[off:], []byte(s))
			if j < 0 {
				break
			}
			j += off
			end := j + len(s)
			if (j == 0 || !tokenByte[line[j-1]]) && (end == len(line) || !tokenByte[line[end]]) {
				lines = append(lines, i+1)
				break
			}
			off = j + 1
		}
	}
	return lines
}

func FuzzScan(f *testing.F) {
	// More seeds live in testdata/fuzz/FuzzScan.
	f.Add([]byte("alias/orders-v2\nalias/orders"), uint8(1))
	m := newMatcher(testKeys)
	idents := []string{ordersARN, ordersID, "alias/orders", mrkARN, mrkID, "alias/payments"}
	owner := []int{0, 0, 0, 1, 1, 1}
	f.Fuzz(func(t *testing.T, data []byte, plant uint8) {
		// Plant one identifier on a line of its own, between separators: it
		// must be found there whatever surrounds it.
		which := int(plant) % len(idents)
		plantLine := bytes.Count(data, []byte("\n")) + 2
		content := append(append([]byte{}, data...), []byte("\n\t\""+idents[which]+"\" \n")...)
		lines := bytes.Split(content, []byte("\n"))
		found := false
		perLine := map[[2]int]bool{}
		m.scan(content, func(h hit) {
			if h.line < 1 || h.line > len(lines) {
				t.Fatalf("line %d out of range 1..%d", h.line, len(lines))
			}
			if !bytes.Contains(lines[h.line-1], []byte(h.match)) {
				t.Fatalf("match %q not on line %d: %q", h.match, h.line, lines[h.line-1])
			}
			if k := [2]int{h.key, h.line}; perLine[k] {
				t.Fatalf("key %d reported twice on line %d", h.key, h.line)
			} else {
				perLine[k] = true
			}
			if h.line == plantLine && h.key == owner[which] {
				found = true
			}
		})
		if !found {
			t.Fatalf("planted %q on line %d not found", idents[which], plantLine)
		}
		// Every free-standing alias occurrence is found (and nothing else of
		// alias/orders is reported outside such lines or ARNs).
		for _, ln := range naiveLines(content, "alias/orders") {
			if !perLine[[2]int{0, ln}] {
				t.Fatalf("free-standing alias/orders on line %d not found", ln)
			}
		}
	})
}

func TestFuzzSeedsExist(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"testdata/fuzz/FuzzScan"} {
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) == 0 {
			t.Errorf("seed corpus %s: %d entries, %v", dir, len(entries), err)
		}
	}
}

// BenchmarkFind10k walks 10,000 Terraform files of ~4 KiB with 50 keys to find.
func BenchmarkFind10k(b *testing.B) {
	root := b.TempDir()
	const nFiles = 10_000
	keys := make([]KeyRef, 50)
	for i := range keys {
		id := fmt.Sprintf("%08x-12ab-34cd-56ef-1234567890ab", i)
		keys[i] = KeyRef{ARN: "arn:aws:kms:us-east-1:111122223333:key/" + id, KeyID: id,
			Aliases: []string{fmt.Sprintf("alias/app-%d", i)}, Account: "111122223333", Region: "us-east-1"}
	}
	var body strings.Builder
	for i := 0; body.Len() < 4096; i++ {
		fmt.Fprintf(&body, "resource \"aws_s3_bucket\" \"b%d\" {\n  bucket = \"bucket-%d-logs\"\n  tags   = { Team = \"platform\", Env = \"prod\" }\n}\n", i, i)
	}
	var total int64
	for i := range nFiles {
		p := filepath.Join(root, fmt.Sprintf("mod%03d", i/100), fmt.Sprintf("f%05d.tf", i))
		content := body.String()
		if i%500 == 0 {
			content += fmt.Sprintf("k = \"alias/app-%d\"\n", (i/500)%50)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(len(content))
	}
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		locs, stats, err := Find(context.Background(), root, keys, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if stats.FilesScanned != nFiles || len(locs[0]) == 0 {
			b.Fatalf("scanned %d files, %d locations of key 0", stats.FilesScanned, len(locs[0]))
		}
		b.ReportMetric(float64(nFiles)/time.Since(start).Seconds(), "files/s")
	}
}

// A walk a bound stopped is a run warning naming the bound; a complete one
// is none.
func TestStatsWarningNamesTheBound(t *testing.T) {
	t.Parallel()
	if w := (Stats{FilesScanned: 3}).Warning(); w != "" {
		t.Errorf("complete walk warns %q", w)
	}
	w := Stats{FilesScanned: 20000, Truncated: true, Bound: "20000 files"}.Warning()
	for _, want := range []string{"stopped at its bound of 20000 files", "after 20000 file(s)", "shows no location"} {
		if !strings.Contains(w, want) {
			t.Errorf("Warning() = %q, want it to contain %q", w, want)
		}
	}
}
