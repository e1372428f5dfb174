package ocsf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/testfixture"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/golden"
)

// schemaFile is an OCSF source file: a class, object, profile or dictionary.
type schemaFile struct {
	UID        int                        `json:"uid"`
	Category   string                     `json:"category"`
	Extends    string                     `json:"extends"`
	Attributes map[string]json.RawMessage `json:"attributes"`
}

type attribute struct {
	Requirement string                     `json:"requirement"`
	Caption     string                     `json:"caption"`
	Enum        map[string]json.RawMessage `json:"enum"`
}

func load(t *testing.T, name string) schemaFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "schema", name))
	if err != nil {
		t.Fatal(err)
	}
	var f schemaFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

// compiled is the class as the OCSF server compiles it, for what the test checks.
type compiled struct {
	attrs    map[string]attribute // requirement of the most derived definition
	enums    map[string]map[string]string
	classUID int
	catUID   int
	objects  map[string]map[string]attribute // metadata, finding_info, cloud
}

func attrsOf(t *testing.T, f schemaFile) map[string]attribute {
	t.Helper()
	out := map[string]attribute{}
	for name, raw := range f.Attributes {
		if name == "$include" {
			continue
		}
		var a attribute
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("attribute %s: %v", name, err)
		}
		out[name] = a
	}
	return out
}

func compile(t *testing.T, profiles []string) compiled {
	t.Helper()
	c := compiled{attrs: map[string]attribute{}, enums: map[string]map[string]string{}, objects: map[string]map[string]attribute{}}
	dict := attrsOf(t, load(t, "dictionary-excerpt.json"))
	for name, a := range dict {
		c.addEnum(t, name, a)
	}
	chain := []string{"events/base_event.json", "events/findings/finding.json", "events/findings/detection_finding.json"}
	for _, p := range profiles {
		chain = append([]string{"profiles/" + p + ".json"}, chain...)
	}
	var class, parent schemaFile
	for _, file := range chain {
		f := load(t, file)
		for name, a := range attrsOf(t, f) {
			if prev, ok := c.attrs[name]; ok && a.Requirement == "" {
				a.Requirement = prev.Requirement // a child that only re-describes keeps the requirement
			}
			c.attrs[name] = a
			c.addEnum(t, name, a)
		}
		parent, class = class, f
	}
	cats := attrsOfCategories(t)
	c.catUID = cats[parent.Category]
	if c.catUID == 0 {
		t.Fatalf("category %q of the parent class not in categories.json", parent.Category)
	}
	c.classUID = c.catUID*1000 + class.UID
	// The server replaces base_event's placeholder enums with the class's own uids.
	c.enums["category_uid"] = map[string]string{strconv.Itoa(c.catUID): ""}
	c.enums["class_uid"] = map[string]string{strconv.Itoa(c.classUID): ""}
	for _, obj := range []string{"metadata", "finding_info", "cloud"} {
		c.objects[obj] = attrsOf(t, load(t, "objects/"+obj+".json"))
	}
	return c
}

func attrsOfCategories(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for name, raw := range load(t, "categories.json").Attributes {
		var c struct {
			UID int `json:"uid"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		out[name] = c.UID
	}
	return out
}

func (c compiled) addEnum(t *testing.T, name string, a attribute) {
	t.Helper()
	if len(a.Enum) == 0 {
		return
	}
	if c.enums[name] == nil {
		c.enums[name] = map[string]string{}
	}
	for k, raw := range a.Enum {
		var v struct {
			Caption string `json:"caption"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		c.enums[name][k] = v.Caption
	}
}

var semver = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

// check returns every way an event departs from the compiled class.
func (c compiled) check(ev map[string]any) []string {
	var bad []string
	for name := range ev {
		if _, ok := c.attrs[name]; !ok {
			bad = append(bad, "unknown attribute "+name)
		}
	}
	for name, a := range c.attrs {
		if _, ok := ev[name]; a.Requirement == "required" && !ok {
			bad = append(bad, "missing required "+name)
		}
	}
	for name, enum := range c.enums {
		v, ok := ev[name]
		if !ok {
			continue
		}
		n, isNum := v.(float64)
		caption, known := enum[strconv.Itoa(int(n))]
		if !isNum || !known {
			bad = append(bad, "value "+fmtAny(v)+" of "+name+" not in its enum")
			continue
		}
		// The sibling string is the caption (activity_name, severity, status).
		sibling := map[string]string{"activity_id": "activity_name", "severity_id": "severity", "status_id": "status"}[name]
		if s, ok := ev[sibling].(string); sibling != "" && ok && s != caption {
			bad = append(bad, sibling+" "+s+" is not the caption "+caption)
		}
	}
	if ev["class_uid"] != float64(c.classUID) || ev["category_uid"] != float64(c.catUID) {
		bad = append(bad, "class/category uid "+fmtAny(ev["class_uid"])+"/"+fmtAny(ev["category_uid"]))
	}
	if act, ok := ev["activity_id"].(float64); !ok || ev["type_uid"] != float64(c.classUID*100+int(act)) {
		bad = append(bad, "type_uid "+fmtAny(ev["type_uid"])+" is not class_uid*100+activity_id")
	}
	for obj, attrs := range c.objects {
		m, ok := ev[obj].(map[string]any)
		if !ok {
			bad = append(bad, obj+" is not an object")
			continue
		}
		for k := range m {
			if _, ok := attrs[k]; !ok {
				bad = append(bad, "unknown attribute "+obj+"."+k)
			}
		}
		for k, a := range attrs {
			if _, ok := m[k]; a.Requirement == "required" && !ok {
				bad = append(bad, "missing required "+obj+"."+k)
			}
		}
	}
	if md, ok := ev["metadata"].(map[string]any); ok {
		if v, _ := md["version"].(string); !semver.MatchString(v) {
			bad = append(bad, "metadata.version "+fmtAny(md["version"])+" is not SemVer")
		}
		if p, _ := md["profiles"].([]any); len(p) != 1 || p[0] != "cloud" {
			bad = append(bad, "metadata.profiles should declare exactly the cloud profile")
		}
	}
	sort.Strings(bad)
	return bad
}

func fmtAny(v any) string { b, _ := json.Marshal(v); return string(b) }

func events(t *testing.T, res finding.Result) []map[string]any {
	t.Helper()
	b, err := Marshal(res, "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	var evs []map[string]any
	if err := json.Unmarshal(b, &evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestEventsMatchTheDetectionFindingClass(t *testing.T) {
	t.Parallel()
	c := compile(t, []string{"cloud"})
	if c.classUID != 2004 {
		t.Fatalf("compiled class_uid %d, want 2004 (Findings 2 x 1000 + Detection Finding 4)", c.classUID)
	}
	for _, fixture := range []struct {
		name string
		res  finding.Result
	}{{"fixture", testfixture.Result()}, {"hostile", testfixture.Hostile()}} {
		evs := events(t, fixture.res)
		if len(evs) != len(fixture.res.Findings) {
			t.Fatalf("%s: %d events for %d findings", fixture.name, len(evs), len(fixture.res.Findings))
		}
		for i, ev := range evs {
			if bad := c.check(ev); len(bad) > 0 {
				t.Errorf("%s event %d: %s", fixture.name, i, strings.Join(bad, "; "))
			}
		}
	}
}

// TestCheckerCatchesDepartures proves the check is not vacuous: each
// mutation of a valid event must be reported.
func TestCheckerCatchesDepartures(t *testing.T) {
	t.Parallel()
	c := compile(t, []string{"cloud"})
	mutations := []struct {
		name string
		mut  func(map[string]any)
		want string
	}{
		{"unknown attribute", func(e map[string]any) { e["kms_key"] = "x" }, "unknown attribute kms_key"},
		{"missing finding_info", func(e map[string]any) { delete(e, "finding_info") }, "missing required finding_info"},
		{"missing cloud (profile declared)", func(e map[string]any) { delete(e, "cloud") }, "missing required cloud"},
		{"severity out of enum", func(e map[string]any) { e["severity_id"] = 7.0 }, "severity_id not in its enum"},
		{"status caption", func(e map[string]any) { e["status"] = "Open" }, "status Open is not the caption"},
		{"type_uid", func(e map[string]any) { e["type_uid"] = 200101.0 }, "type_uid"},
		{"metadata.product missing", func(e map[string]any) { delete(e["metadata"].(map[string]any), "product") }, "missing required metadata.product"},
		{"finding_info.uid missing", func(e map[string]any) { delete(e["finding_info"].(map[string]any), "uid") }, "missing required finding_info.uid"},
		{"cloud.provider missing", func(e map[string]any) { delete(e["cloud"].(map[string]any), "provider") }, "missing required cloud.provider"},
	}
	for _, m := range mutations {
		ev := events(t, testfixture.Result())[0]
		m.mut(ev)
		if bad := strings.Join(c.check(ev), "; "); !strings.Contains(bad, m.want) {
			t.Errorf("%s: check said %q, want %q", m.name, bad, m.want)
		}
	}
	// Without the cloud profile, the cloud attribute is unknown.
	if bad := strings.Join(compile(t, nil).check(events(t, testfixture.Result())[0]), "; "); !strings.Contains(bad, "unknown attribute cloud") {
		t.Errorf("without the profile: %q", bad)
	}
}

func TestStatusAndSeverityMapping(t *testing.T) {
	t.Parallel()
	res := testfixture.Result()
	evs := events(t, res)
	for i, f := range res.Findings {
		ev := evs[i]
		wantStatus := "New"
		switch {
		case f.Remediation != nil && f.Remediation.Outcome == "cancelled":
			wantStatus = "Resolved"
		case f.Allowlisted:
			wantStatus = "Suppressed"
		}
		if ev["status"] != wantStatus {
			t.Errorf("%s: status %v, want %s", f.KeyID, ev["status"], wantStatus)
		}
		if want := strings.ToUpper(f.Severity.String()[:1]) + f.Severity.String()[1:]; ev["severity"] != want {
			t.Errorf("%s: severity %v, want %s", f.KeyID, ev["severity"], want)
		}
		if ev["finding_info"].(map[string]any)["uid"] != "kms-deletion-gate/"+f.RuleID+"/"+f.ARN {
			t.Errorf("%s: unstable finding uid %v", f.KeyID, ev["finding_info"])
		}
	}
	b, _ := Marshal(res, "1.2.3")
	golden.Check(t, "events.json", b)
}

func TestHostileTextIsData(t *testing.T) {
	t.Parallel()
	b, err := Marshal(testfixture.Hostile(), "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatal("not JSON")
	}
	for _, raw := range []string{"\x1b", "\u202e", "\xff", "<img"} {
		if strings.Contains(string(b), raw) {
			t.Errorf("output holds %q raw", raw)
		}
	}
}
