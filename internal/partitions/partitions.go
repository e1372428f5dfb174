// Package partitions answers what the AWS SDK knows about region names: which
// partition (aws, aws-cn, aws-us-gov, ...) a name belongs to, whether the SDK
// lists it as a region, the partition's DNS suffix and home region. The data
// is the SDK's own partition metadata (partitions.json of
// github.com/aws/aws-sdk-go-v2, which its endpoint rules use), copied here by
// `go generate` from the SDK version in go.mod, so a dependency update brings
// new regions; a test fails while the copy and go.mod disagree.
package partitions

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

//go:generate go run gen.go

//go:embed partitions.json
var metadata []byte

//go:embed sdk_version.txt
var sdkVersion string

// Partition is one AWS partition.
type Partition struct {
	// ID is the partition's name: aws, aws-cn, aws-us-gov, aws-iso, ...
	ID string
	// DNSSuffix is the suffix of its endpoints: amazonaws.com, amazonaws.com.cn, ...
	DNSSuffix string
	// HomeRegion is where the partition's global services are signed
	// (implicitGlobalRegion): us-east-1, cn-northwest-1, us-gov-west-1, ...
	HomeRegion string
	// Regions are the region names the SDK lists, sorted (no *-global
	// pseudo-regions).
	Regions []string
	pattern *regexp.Regexp
}

var all = mustParse(metadata)

// SDKVersion is the github.com/aws/aws-sdk-go-v2 version the metadata came from.
func SDKVersion() string { return strings.TrimSpace(sdkVersion) }

// All returns every partition, in the SDK's order.
func All() []Partition { return slices.Clone(all) }

// Lookup returns the partition of a region name. known says whether the
// SDK lists the name; a name it does not list but whose shape matches a
// partition's region pattern (a region launched after this SDK version, or a
// typo) has known false and ok true. ok is false when no partition's pattern
// matches: the name is not an AWS region name.
func Lookup(region string) (p Partition, known, ok bool) {
	for _, p := range all {
		if _, found := slices.BinarySearch(p.Regions, region); found {
			return p, true, true
		}
	}
	for _, p := range all {
		if p.pattern.MatchString(region) {
			return p, false, true
		}
	}
	return Partition{}, false, false
}

// ByID returns the partition with that ID.
func ByID(id string) (Partition, bool) {
	for _, p := range all {
		if p.ID == id {
			return p, true
		}
	}
	return Partition{}, false
}

type document struct {
	Partitions []struct {
		ID          string                     `json:"id"`
		RegionRegex string                     `json:"regionRegex"`
		Regions     map[string]json.RawMessage `json:"regions"`
		Outputs     struct {
			DNSSuffix            string `json:"dnsSuffix"`
			ImplicitGlobalRegion string `json:"implicitGlobalRegion"`
		} `json:"outputs"`
	} `json:"partitions"`
}

func mustParse(b []byte) []Partition {
	ps, err := parse(b)
	if err != nil {
		panic(fmt.Sprintf("partitions: embedded partitions.json: %v", err))
	}
	return ps
}

func parse(b []byte) ([]Partition, error) {
	var doc document
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if len(doc.Partitions) == 0 {
		return nil, fmt.Errorf("no partitions")
	}
	out := make([]Partition, 0, len(doc.Partitions))
	for _, d := range doc.Partitions {
		re, err := regexp.Compile(d.RegionRegex)
		if err != nil {
			return nil, fmt.Errorf("partition %s: region pattern: %w", d.ID, err)
		}
		p := Partition{ID: d.ID, DNSSuffix: d.Outputs.DNSSuffix, HomeRegion: d.Outputs.ImplicitGlobalRegion, pattern: re}
		for name := range d.Regions {
			// aws-global and the like are signing aliases, not regions.
			if re.MatchString(name) {
				p.Regions = append(p.Regions, name)
			}
		}
		slices.Sort(p.Regions)
		out = append(out, p)
	}
	return out, nil
}
