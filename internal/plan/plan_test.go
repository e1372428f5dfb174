package plan

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

const (
	tfPlanPath    = "testdata/terraform/infra/tfplan.json"
	changeSetPath = "testdata/cloudformation/changeset.json"
)

// secrets are the values of the fixtures that no output may hold: prior and
// planned values, variables, outputs, configuration constants, change set
// parameters and property values.
var secrets = []string{
	"s3cr3t-db-password-7f3a",
	"SECRET-KEY-MATERIAL-QmFzZTY0",
	"policy-secret-principal-9c1e",
	"tag-secret-value-4b2d",
	"config-secret-constant-88aa",
	"cfn-secret-before-context-31d0",
	"cfn-secret-string-before-52e9",
	"cfn-secret-string-after-52e9",
	"cfn-secret-parameter-value-e7c4",
}

func readTerraformFile(t *testing.T, p string) TerraformPlan {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ReadTerraform(f, p, 0)
	if err != nil {
		t.Fatalf("ReadTerraform: %v", err)
	}
	return got
}

func readChangeSetFile(t *testing.T, p string) ChangeSet {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ReadChangeSet(f, p, 0)
	if err != nil {
		t.Fatalf("ReadChangeSet: %v", err)
	}
	return got
}

// brief is the part of a Deletion a table compares.
func brief(d Deletion) string {
	return fmt.Sprintf("%s %s deposed=%q %s reason=%s arn=%s id=%s region=%s account=%s withheld=%v",
		d.Action(), d.Address, d.Deposed, d.Type, d.Reason, d.ARN, d.KeyID, d.Region, d.Account, d.Withheld)
}

func TestReadTerraformFixture(t *testing.T) {
	t.Parallel()
	got := readTerraformFile(t, tfPlanPath)
	// Deletes and replaces of the three key types only: not the create, the
	// no-op, the update of the database, the data source read, nor the
	// drift (which Terraform reports but does not plan).
	want := []string{
		`replace aws_kms_key.payments deposed="" aws_kms_key reason=replace_because_cannot_update arn=arn:aws:kms:us-east-1:111122223333:key/5e6f7a8b-2222-4c4c-9d9d-0123456789cd id=5e6f7a8b-2222-4c4c-9d9d-0123456789cd region=us-east-1 account=111122223333 withheld=false`,
		`delete aws_kms_key.payments deposed="00000001" aws_kms_key reason= arn=arn:aws:kms:us-east-1:111122223333:key/deadbeef-5555-4a4a-8b8b-0123456789ff id=deadbeef-5555-4a4a-8b8b-0123456789ff region=us-east-1 account=111122223333 withheld=false`,
		`replace aws_kms_replica_key.orders_eu deposed="" aws_kms_replica_key reason=replace_by_request arn=arn:aws:kms:eu-west-1:111122223333:key/mrk-1234567890abcdef1234567890abcdef id=mrk-1234567890abcdef1234567890abcdef region=eu-west-1 account=111122223333 withheld=false`,
		`delete module.kms.aws_kms_external_key.imported[0] deposed="" aws_kms_external_key reason=delete_because_count_index arn=arn:aws:kms:us-east-1:111122223333:key/9f8e7d6c-3333-4e4e-afaf-0123456789ef id=9f8e7d6c-3333-4e4e-afaf-0123456789ef region=us-east-1 account=111122223333 withheld=false`,
		`delete module.kms.aws_kms_key.orders deposed="" aws_kms_key reason=delete_because_no_resource_config arn=arn:aws:kms:us-east-1:111122223333:key/0a1b2c3d-1111-4a4a-8b8b-0123456789ab id=0a1b2c3d-1111-4a4a-8b8b-0123456789ab region=us-east-1 account=111122223333 withheld=false`,
	}
	if len(got.Deletions) != len(want) {
		t.Fatalf("got %d deletions, want %d:\n%s", len(got.Deletions), len(want), dump(got.Deletions))
	}
	for i, d := range got.Deletions {
		if brief(d) != want[i] {
			t.Errorf("deletion %d:\n got %s\nwant %s", i, brief(d), want[i])
		}
		if d.Tool != ToolTerraform || d.Source != tfPlanPath {
			t.Errorf("deletion %d: tool %q source %q", i, d.Tool, d.Source)
		}
	}
	if m := got.Deletions[3].Module; m != "module.kms" {
		t.Errorf("module of the external key = %q, want module.kms", m)
	}
}

func dump(ds []Deletion) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(brief(d) + "\n")
	}
	return b.String()
}

func TestReadChangeSetFixture(t *testing.T) {
	t.Parallel()
	cs := readChangeSetFile(t, changeSetPath)
	if cs.Stack != "orders-kms" || cs.Region != "us-east-1" || cs.Account != "111122223333" {
		t.Errorf("stack %q region %q account %q", cs.Stack, cs.Region, cs.Account)
	}
	// ArchiveKey is removed with PolicyAction Retain; AuditKey and
	// ReportsReplica carry no PolicyAction (an older change set) and stay
	// until a template settles them; LogsKey is modified in place, NewKey
	// added, AppSecret is not a key.
	want := []string{
		`replace AuditKey deposed="" AWS::KMS::Key reason=replace arn=arn:aws:kms:us-east-1:111122223333:key/44445555-7777-4d4d-8e8e-0123456789cc id=44445555-7777-4d4d-8e8e-0123456789cc region=us-east-1 account=111122223333 withheld=false`,
		`delete OrdersKey deposed="" AWS::KMS::Key reason=remove arn=arn:aws:kms:us-east-1:111122223333:key/0a1b2c3d-1111-4a4a-8b8b-0123456789ab id=0a1b2c3d-1111-4a4a-8b8b-0123456789ab region=us-east-1 account=111122223333 withheld=false`,
		`replace PaymentsKey deposed="" AWS::KMS::Key reason=replace arn=arn:aws:kms:us-east-1:111122223333:key/5e6f7a8b-2222-4c4c-9d9d-0123456789cd id=5e6f7a8b-2222-4c4c-9d9d-0123456789cd region=us-east-1 account=111122223333 withheld=false`,
		`replace ReportsReplica deposed="" AWS::KMS::ReplicaKey reason=replace_conditional arn=arn:aws:kms:us-east-1:111122223333:key/mrk-1234567890abcdef1234567890abcdef id=mrk-1234567890abcdef1234567890abcdef region=us-east-1 account=111122223333 withheld=false`,
	}
	if len(cs.Deletions) != len(want) {
		t.Fatalf("got %d deletions, want %d:\n%s", len(cs.Deletions), len(want), dump(cs.Deletions))
	}
	for i, d := range cs.Deletions {
		if brief(d) != want[i] {
			t.Errorf("deletion %d:\n got %s\nwant %s", i, brief(d), want[i])
		}
	}
	if strings.Join(cs.Retained, ",") != "ArchiveKey" {
		t.Errorf("retained %v, want [ArchiveKey]", cs.Retained)
	}
}

func TestLocateChangeSetSettlesPolicies(t *testing.T) {
	t.Parallel()
	cs := readChangeSetFile(t, changeSetPath)
	w, err := ScanWorkspace(context.Background(), "testdata/cloudformation")
	if err != nil {
		t.Fatal(err)
	}
	w.LocateChangeSet(&cs)
	// AuditKey's template keeps the old key on replacement.
	if strings.Join(cs.Retained, ",") != "ArchiveKey,AuditKey" {
		t.Errorf("retained %v, want [ArchiveKey AuditKey]", cs.Retained)
	}
	got := map[string]string{}
	for _, d := range cs.Deletions {
		got[d.Name] = "<none>"
		if d.Declared != nil {
			got[d.Name] = fmt.Sprintf("%s:%d", d.Declared.Path, d.Declared.Line)
		}
	}
	want := map[string]string{
		"OrdersKey":      "<none>", // removed from the template
		"PaymentsKey":    "template.yaml:" + lineOf(t, "testdata/cloudformation/template.yaml", "  PaymentsKey:"),
		"ReportsReplica": "template.yaml:" + lineOf(t, "testdata/cloudformation/template.yaml", "  ReportsReplica:"),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("located %v, want %v", got, want)
	}
}

// lineOf returns the 1-based line of the first line of file equal to text.
func lineOf(t *testing.T, file, text string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if l == text {
			return fmt.Sprint(i + 1)
		}
	}
	t.Fatalf("%s has no line %q", file, text)
	return ""
}

func TestLocateTerraform(t *testing.T) {
	t.Parallel()
	root := "testdata/terraform"
	w, err := ScanWorkspace(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	main := "infra/main.tf:"
	tests := []struct {
		name   string
		source string // where the plan file is
		want   map[string]string
	}{
		{
			name:   "plan next to the root module",
			source: "infra/tfplan.json",
			want: map[string]string{
				"aws_kms_key.payments":                        main + lineOf(t, root+"/infra/main.tf", `resource "aws_kms_key" "payments" {`),
				"aws_kms_replica_key.orders_eu":               main + lineOf(t, root+"/infra/main.tf", `resource "aws_kms_replica_key" "orders_eu" {`),
				"module.kms.aws_kms_external_key.imported[0]": "infra/modules/kms/main.tf:" + lineOf(t, root+"/infra/modules/kms/main.tf", `resource "aws_kms_external_key" "imported" {`),
				"module.kms.aws_kms_key.orders":               "<none>", // deleted from the module
			},
		},
		{
			// Without the plan's directory, payments is declared in two root
			// modules (infra and legacy): better no annotation than a wrong one.
			name:   "plan elsewhere",
			source: "tfplan.json",
			want: map[string]string{
				"aws_kms_key.payments":                        "<none>",
				"aws_kms_replica_key.orders_eu":               main + lineOf(t, root+"/infra/main.tf", `resource "aws_kms_replica_key" "orders_eu" {`),
				"module.kms.aws_kms_external_key.imported[0]": "infra/modules/kms/main.tf:" + lineOf(t, root+"/infra/modules/kms/main.tf", `resource "aws_kms_external_key" "imported" {`),
				"module.kms.aws_kms_key.orders":               "<none>",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := readTerraformFile(t, tfPlanPath)
			p.Source = tc.source
			w.LocateTerraform(&p)
			got := map[string]string{}
			for _, d := range p.Deletions {
				if d.Deposed != "" {
					continue
				}
				got[d.Address] = "<none>"
				if d.Declared != nil {
					got[d.Address] = fmt.Sprintf("%s:%d", d.Declared.Path, d.Declared.Line)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("located\n %v\nwant\n %v", got, tc.want)
			}
		})
	}
}

func TestLocateTerraformRegistryModule(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := "module \"keys\" {\n  source  = \"terraform-aws-modules/kms/aws\"\n  version = \"~> 3.0\"\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := ScanWorkspace(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	p := TerraformPlan{Source: "plan.json", Deletions: []Deletion{{Address: "module.keys.aws_kms_key.this[0]", Module: "module.keys", Type: "aws_kms_key", Name: "this"}}}
	w.LocateTerraform(&p)
	want := finding.Location{Path: "main.tf", Line: 1, Match: "module.keys"}
	if d := p.Deletions[0].Declared; d == nil || *d != want {
		t.Errorf("Declared = %+v, want the module block %+v", d, want)
	}
}

func TestModulePath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                                  "",
		"module.kms":                        "module.kms",
		`module.a["x.y"].module.b[0]`:       "module.a.module.b",
		`module.a["q\"]"].module.b["k"]`:    "module.a.module.b",
		`module.env["prod"].module.kms[12]`: "module.env.module.kms",
	} {
		if got := ModulePath(in); got != want {
			t.Errorf("ModulePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSensitiveIdentifiersAreNotRead(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:kms:us-east-1:111122223333:key/0a1b2c3d-1111-4a4a-8b8b-0123456789ab"
	plan := func(mask string) string {
		return `{"format_version":"1.2","resource_changes":[{"address":"aws_kms_key.k","mode":"managed","type":"aws_kms_key","name":"k",` +
			`"change":{"actions":["delete"],"before":{"arn":"` + arn + `","key_id":"0a1b2c3d-1111-4a4a-8b8b-0123456789ab","id":"0a1b2c3d-1111-4a4a-8b8b-0123456789ab"},"after":null,"before_sensitive":` + mask + `}}]}`
	}
	tests := []struct {
		mask         string
		wantARN      bool
		wantID       bool
		wantWithheld bool
	}{
		{mask: `{}`, wantARN: true, wantID: true},
		{mask: `false`, wantARN: true, wantID: true},
		{mask: `true`, wantWithheld: true},
		{mask: `{"arn":true}`, wantID: true},
		{mask: `{"arn":true,"key_id":true,"id":true}`, wantWithheld: true},
		{mask: `"odd"`, wantWithheld: true}, // an unknown shape reads as sensitive
	}
	for _, tc := range tests {
		p, err := ReadTerraform(strings.NewReader(plan(tc.mask)), "p.json", 0)
		if err != nil {
			t.Fatalf("%s: %v", tc.mask, err)
		}
		d := p.Deletions[0]
		if (d.ARN != "") != tc.wantARN || (d.KeyID != "") != tc.wantID || d.Withheld != tc.wantWithheld {
			t.Errorf("before_sensitive %s: arn %q id %q withheld %v", tc.mask, d.ARN, d.KeyID, d.Withheld)
		}
	}
}

func TestIdentifiersMustLookLikeKeys(t *testing.T) {
	t.Parallel()
	in := `{"format_version":"1.2","resource_changes":[{"address":"aws_kms_key.k","mode":"managed","type":"aws_kms_key","name":"k",` +
		`"change":{"actions":["delete"],"before":{"arn":"arn:aws:kms:us-east-1:111122223333:key/x\n::error::boom","key_id":42,"id":["a"]}}}]}`
	p, err := ReadTerraform(strings.NewReader(in), "p.json", 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := p.Deletions[0]; d.ARN != "" || d.KeyID != "" || d.Withheld {
		t.Errorf("identifiers of the wrong shape were kept: %+v", d)
	}
}

func TestReadTerraformRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		max            int64
	}{
		{name: "not JSON", in: "terraform plan output\n", want: "not valid JSON at byte"},
		{name: "a state", in: `{"format_version":"1.0","values":{"root_module":{}}}`, want: "a Terraform state, not a plan"},
		{name: "no version", in: `{"resource_changes":[]}`, want: "no format_version"},
		{name: "major 2", in: `{"format_version":"2.0","resource_changes":[]}`, want: `format_version "2.0" is not supported`},
		{name: "errored", in: `{"format_version":"1.2","errored":true,"resource_changes":[]}`, want: "the plan errored"},
		{name: "two documents", in: `{"format_version":"1.2","resource_changes":[]} {}`, want: "more than one JSON value"},
		{name: "truncated", in: `{"format_version":"1.2","resource_changes":[{"address":`, want: "ends early"},
		{name: "too large", in: `{"format_version":"1.2","resource_changes":[]}`, max: 10, want: "larger than 10 bytes"},
		{name: "changes not a list", in: `{"format_version":"1.2","resource_changes":{}}`, want: "resource_changes is not a JSON array"},
		{name: "actions not a list", in: `{"format_version":"1.2","resource_changes":[{"change":{"actions":"delete"}}]}`, want: "change.actions ending at byte"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTerraform(strings.NewReader(tc.in), "p.json", tc.max)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "p.json: ") {
				t.Errorf("error %v, want p.json: ...%s", err, tc.want)
			}
		})
	}
}

func TestReadChangeSetRejects(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"StackName":"s"}`: "no Changes",
		`[]`:                "the document is not a JSON object",
		`{"Changes":[{"ResourceChange":{"Action":7}}]}`: "ResourceChange.Action ending at byte",
	} {
		_, err := ReadChangeSet(strings.NewReader(in), "cs.json", 0)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", in, err, want)
		}
	}
}

// TestSecretsNeverEchoed reads the fixtures whole and broken in every way a
// secret could leak through: cut inside or right after it, a syntax error
// next to it, a value of the wrong type in its place. No deletion and no
// error message holds any secret, or a piece of one.
func TestSecretsNeverEchoed(t *testing.T) {
	t.Parallel()
	tf, err := os.ReadFile(tfPlanPath)
	if err != nil {
		t.Fatal(err)
	}
	cfn, err := os.ReadFile(changeSetPath)
	if err != nil {
		t.Fatal(err)
	}
	var outputs []string
	p := readTerraformFile(t, tfPlanPath)
	outputs = append(outputs, fmt.Sprintf("%#v", p))
	cs := readChangeSetFile(t, changeSetPath)
	outputs = append(outputs, fmt.Sprintf("%#v", cs))

	read := func(data []byte) error {
		if bytes.Contains(data, []byte("Changes")) {
			_, err := ReadChangeSet(bytes.NewReader(data), "x.json", 0)
			return err
		}
		_, err := ReadTerraform(bytes.NewReader(data), "x.json", 0)
		return err
	}
	broken := 0
	for _, doc := range [][]byte{tf, cfn} {
		for _, s := range secrets {
			i := bytes.Index(doc, []byte(s))
			if i < 0 {
				continue
			}
			end := i + len(s)
			variants := [][]byte{
				doc[:i+len(s)/2], // cut inside the secret
				doc[:end],        // cut right after it
				join(doc[:end], []byte("\x01"), doc[end:]),      // a control character inside the string
				join(doc[:end+1], []byte("}"), doc[end+1:]),     // a stray brace after it
				join(doc[:i-1], []byte("7"), doc[end+1:]),       // a number where the string was
				join(doc[:i-1], []byte(`{"a":1}`), doc[end+1:]), // an object where the string was
			}
			for _, v := range variants {
				err := read(v)
				if err == nil {
					continue
				}
				broken++
				outputs = append(outputs, err.Error())
			}
		}
	}
	if broken < 20 {
		t.Fatalf("only %d broken variants failed to read; the test lost its teeth", broken)
	}
	for _, out := range outputs {
		for _, s := range secrets {
			for _, piece := range []string{s, s[:8], s[len(s)-8:]} {
				if strings.Contains(out, piece) {
					t.Errorf("output holds %q (of secret %q):\n%s", piece, s, out)
				}
			}
		}
	}
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestDeclarationOfBaseFiles(t *testing.T) {
	t.Parallel()
	w := NewWorkspace("")
	w.AddFile("infra/kms.tf", []byte("# legacy\nresource \"aws_kms_key\" \"legacy\" {\n  description = \"x\"\n}\n"))
	w.AddFile("stacks/keys.yaml", []byte("Resources:\n  OldKey:\n    Type: AWS::KMS::Key\n"))
	w.AddFile("README.md", []byte("resource \"aws_kms_key\" \"legacy\" {}\n"))
	w.AddFile("copy/a.tf", []byte("resource \"aws_kms_key\" \"twice\" {}\n"))
	w.AddFile("copy/b.tf", []byte("resource \"aws_kms_key\" \"twice\" {}\n"))
	tests := []struct {
		tool, typ, name string
		want            string
	}{
		{ToolTerraform, "aws_kms_key", "legacy", "infra/kms.tf:2"},
		{ToolCloudFormation, "AWS::KMS::Key", "OldKey", "stacks/keys.yaml:2"},
		{ToolCloudFormation, "AWS::KMS::ReplicaKey", "OldKey", "<none>"}, // another type
		{ToolTerraform, "aws_kms_key", "twice", "<none>"},                // ambiguous
		{ToolTerraform, "aws_kms_key", "absent", "<none>"},
	}
	for _, tc := range tests {
		got := "<none>"
		if loc, ok := w.DeclarationOf(tc.tool, tc.typ, tc.name); ok {
			got = fmt.Sprintf("%s:%d", loc.Path, loc.Line)
		}
		if got != tc.want {
			t.Errorf("DeclarationOf(%s %s) = %s, want %s", tc.typ, tc.name, got, tc.want)
		}
	}
	for name, want := range map[string]bool{"a.tf": true, "a.TF.JSON": true, "t.template": true, "x.yml": true, "README.md": false, "main.go": false} {
		if IsDeclarationFile(name) != want {
			t.Errorf("IsDeclarationFile(%q) = %v", name, !want)
		}
	}
}

// TestSettleRemovalsWithTheDeployedTemplate: a removal from an older change
// set (no PolicyAction) is dropped when the base commit's template retains
// the key, and kept otherwise.
func TestSettleRemovalsWithTheDeployedTemplate(t *testing.T) {
	t.Parallel()
	in := `{"StackId":"arn:aws:cloudformation:us-east-1:111122223333:stack/s/1","Changes":[` +
		`{"Type":"Resource","ResourceChange":{"Action":"Remove","LogicalResourceId":"Kept","PhysicalResourceId":"0a1b2c3d-1111-4a4a-8b8b-0123456789ab","ResourceType":"AWS::KMS::Key"}},` +
		`{"Type":"Resource","ResourceChange":{"Action":"Remove","LogicalResourceId":"Gone","PhysicalResourceId":"5e6f7a8b-2222-4c4c-9d9d-0123456789cd","ResourceType":"AWS::KMS::Key"}},` +
		`{"Type":"Resource","ResourceChange":{"PolicyAction":"Delete","Action":"Remove","LogicalResourceId":"Stated","PhysicalResourceId":"9f8e7d6c-3333-4e4e-afaf-0123456789ef","ResourceType":"AWS::KMS::Key"}}]}`
	cs, err := ReadChangeSet(strings.NewReader(in), "cs.json", 0)
	if err != nil {
		t.Fatal(err)
	}
	base := NewWorkspace("")
	// The change set says Delete for Stated: the change set wins over the template.
	base.AddFile("stack.yaml", []byte("Resources:\n  Kept:\n    Type: AWS::KMS::Key\n    DeletionPolicy: Retain\n  Gone:\n    Type: AWS::KMS::Key\n  Stated:\n    Type: AWS::KMS::Key\n    DeletionPolicy: Retain\n"))
	kept, retained := SettleRemovals(cs.Deletions, base)
	var names []string
	for _, d := range kept {
		names = append(names, d.Name)
	}
	if strings.Join(names, ",") != "Gone,Stated" || strings.Join(retained, ",") != "Kept" {
		t.Errorf("kept %v, retained %v", names, retained)
	}
	if kept, _ := SettleRemovals(cs.Deletions, nil); len(kept) != 3 {
		t.Errorf("without a base every removal stays: %d", len(kept))
	}
}
