package partitions

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The embedded copy is the partitions.json of the SDK version go.mod
// requires: after a dependency update, run go generate ./internal/partitions.
func TestMetadataMatchesTheSDK(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-m", "-json", "github.com/aws/aws-sdk-go-v2").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var mod struct{ Dir, Version string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go list: no module directory: %v %s", err, out)
	}
	if SDKVersion() != mod.Version {
		t.Errorf("metadata from SDK %s, go.mod requires %s: run go generate ./internal/partitions", SDKVersion(), mod.Version)
	}
	sdk, err := os.ReadFile(filepath.Join(mod.Dir, "internal", "endpoints", "awsrulesfn", "partitions.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sdk, metadata) {
		t.Error("partitions.json differs from the SDK's: run go generate ./internal/partitions")
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		region    string
		partition string
		known, ok bool
	}{
		{"us-east-1", "aws", true, true},
		{"eu-west-1", "aws", true, true},
		{"ap-future-9", "aws", false, true}, // well-formed, launched after this SDK
		{"us-east-3", "aws", false, true},   // a typo has the same shape: the scan's endpoint check catches it
		{"us-gov-west-1", "aws-us-gov", true, true},
		{"us-gov-north-7", "aws-us-gov", false, true},
		{"cn-north-1", "aws-cn", true, true},
		{"cn-northwest-1", "aws-cn", true, true},
		{"eusc-de-east-1", "aws-eusc", true, true},
		{"us-iso-east-1", "aws-iso", true, true},
		{"us-isob-east-1", "aws-iso-b", true, true},
		{"eu-isoe-west-1", "aws-iso-e", true, true},
		{"us-isof-south-1", "aws-iso-f", true, true},
		{"aws-global", "", false, false}, // a signing alias, not a region
		{"aws-us-gov-global", "", false, false},
		{"US-EAST-1", "", false, false},
		{"us_east_1", "", false, false},
		{"useast1", "", false, false},
		{"xx-east-1", "", false, false},
		{"us-east-1 ", "", false, false},
		{"", "", false, false},
	}
	for _, tc := range tests {
		p, known, ok := Lookup(tc.region)
		if p.ID != tc.partition || known != tc.known || ok != tc.ok {
			t.Errorf("Lookup(%q) = %s known=%v ok=%v, want %s known=%v ok=%v", tc.region, p.ID, known, ok, tc.partition, tc.known, tc.ok)
		}
	}
}

// Every region the SDK lists is kept (none filtered out as a pseudo-region)
// and every *-global alias is dropped.
func TestRegionsAreTheSDKsMinusGlobalAliases(t *testing.T) {
	t.Parallel()
	var doc struct {
		Partitions []struct {
			ID      string                     `json:"id"`
			Regions map[string]json.RawMessage `json:"regions"`
		} `json:"partitions"`
	}
	if err := json.Unmarshal(metadata, &doc); err != nil {
		t.Fatal(err)
	}
	for _, d := range doc.Partitions {
		p, ok := ByID(d.ID)
		if !ok {
			t.Fatalf("partition %s missing", d.ID)
		}
		for name := range d.Regions {
			listed := slices.Contains(p.Regions, name)
			if strings.HasSuffix(name, "-global") == listed {
				t.Errorf("partition %s: region %q listed=%v", d.ID, name, listed)
			}
		}
		if p.DNSSuffix == "" || p.HomeRegion == "" || !slices.Contains(p.Regions, p.HomeRegion) {
			t.Errorf("partition %+v: no DNS suffix or home region", p)
		}
	}
	aws, _ := ByID("aws")
	if len(aws.Regions) < 30 {
		t.Errorf("aws partition lists %d regions", len(aws.Regions))
	}
	for id, home := range map[string]string{"aws": "us-east-1", "aws-cn": "cn-northwest-1", "aws-us-gov": "us-gov-west-1"} {
		if p, _ := ByID(id); p.HomeRegion != home {
			t.Errorf("%s home region %q, want %q", id, p.HomeRegion, home)
		}
	}
}

func TestParseRejectsBadMetadata(t *testing.T) {
	t.Parallel()
	for _, b := range []string{``, `{}`, `{"partitions":[]}`, `{"partitions":[{"id":"x","regionRegex":"("}]}`} {
		if _, err := parse([]byte(b)); err == nil {
			t.Errorf("parse(%q) accepted", b)
		}
	}
}
