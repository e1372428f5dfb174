package plan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"go.yaml.in/yaml/v3"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/iac"
)

// Bounds of a workspace scan.
const (
	maxDeclFileSize = 2 << 20
	maxDeclFiles    = 50_000
)

// Workspace holds where a repository's code declares KMS keys and modules:
// Terraform resource and module blocks, and CloudFormation templates.
type Workspace struct {
	Root      string
	resources []tfDecl // resource blocks of the KMS key types
	modules   []tfDecl // module blocks
	tfDirs    map[string]bool
	templates []Template
	// Truncated is set when the scan stopped at its file bound.
	Truncated bool
}

// tfDecl is one Terraform block: a resource (Type, Name) or a module (Name, Source).
type tfDecl struct {
	Dir, Type, Name, Source string
	Loc                     finding.Location
}

// Template is a CloudFormation template's KMS key resources.
type Template struct {
	Path      string // slash-separated, relative to the workspace root
	Resources map[string]TemplateResource
}

// TemplateResource is one resource of a template.
type TemplateResource struct {
	Type                string
	DeletionPolicy      string
	UpdateReplacePolicy string
	Line                int // of the logical id
}

// ScanWorkspace reads the Terraform files (.tf, .tf.json) and the
// CloudFormation templates (YAML or JSON holding AWS::KMS::) under root.
// It skips what the IaC search skips (.git, .terraform, node_modules,
// vendor, hidden entries, symbolic links) and unparsable files.
func ScanWorkspace(ctx context.Context, root string) (*Workspace, error) {
	w := NewWorkspace(root)
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // an unreadable entry: carry on
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && iac.SkipDir(name) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasPrefix(name, ".") {
			return nil
		}
		lower := strings.ToLower(name)
		tf := strings.HasSuffix(lower, ".tf") || strings.HasSuffix(lower, ".tf.json")
		cfn := !tf && (strings.HasSuffix(lower, ".yaml") || strings.HasSuffix(lower, ".yml") || strings.HasSuffix(lower, ".json") || strings.HasSuffix(lower, ".template"))
		if !tf && !cfn {
			return nil
		}
		if files++; files > maxDeclFiles {
			w.Truncated = true
			return fs.SkipAll
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		data, err := iac.ReadFile(p, maxDeclFileSize, nil)
		if err != nil {
			return nil
		}
		w.AddFile(rel, data)
		return nil
	})
	if err != nil && !errors.Is(err, fs.SkipAll) {
		return w, fmt.Errorf("scan %s for declarations: %w", root, err)
	}
	return w, nil
}

// NewWorkspace returns a workspace without files, to add them one by one
// (the base commit's versions of a pull request's changed files).
func NewWorkspace(root string) *Workspace {
	return &Workspace{Root: root, tfDirs: map[string]bool{}}
}

// AddFile records the declarations of one file, named by its slash path
// relative to the workspace root: Terraform (.tf, .tf.json) or a
// CloudFormation template holding a KMS key. Other files are ignored.
func (w *Workspace) AddFile(rel string, data []byte) {
	lower := strings.ToLower(rel)
	switch {
	case strings.HasSuffix(lower, ".tf") || strings.HasSuffix(lower, ".tf.json"):
		w.addTerraform(hclparse.NewParser(), rel, data)
	case bytes.Contains(data, []byte("AWS::KMS::")):
		if t, err := ReadTemplate(rel, data); err == nil && len(t.Resources) > 0 {
			w.templates = append(w.templates, t)
		}
	}
}

// IsDeclarationFile reports whether AddFile reads a file of that name.
func IsDeclarationFile(name string) bool {
	lower := strings.ToLower(name)
	for _, ext := range []string{".tf", ".tf.json", ".yaml", ".yml", ".json", ".template"} {
		if strings.HasSuffix(lower, ext) {
			return true
		}
	}
	return false
}

// DeclarationOf returns the one resource block of this Terraform type and
// name, or the one template resource of this CloudFormation type and
// logical id, wherever it is in the workspace; ok is false when there is
// none or more than one.
func (w *Workspace) DeclarationOf(tool, typ, name string) (finding.Location, bool) {
	var found []finding.Location
	if tool == ToolTerraform {
		for _, r := range w.resources {
			if r.Type == typ && r.Name == name {
				found = append(found, r.Loc)
			}
		}
	} else {
		for _, t := range w.templates {
			if r, ok := t.Resources[name]; ok && r.Type == typ {
				found = append(found, finding.Location{Path: t.Path, Line: r.Line, Match: name})
			}
		}
	}
	if len(found) != 1 {
		return finding.Location{}, false
	}
	return found[0], true
}

// templateResource returns the one template resource of this type and
// logical id in the workspace.
func (w *Workspace) templateResource(typ, name string) (TemplateResource, bool) {
	var found []TemplateResource
	for _, t := range w.templates {
		if r, ok := t.Resources[name]; ok && r.Type == typ {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		return TemplateResource{}, false
	}
	return found[0], true
}

var tfSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "resource", LabelNames: []string{"type", "name"}},
	{Type: "module", LabelNames: []string{"name"}},
}}

var moduleSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "source"}}}

// addTerraform records the resource and module blocks of one file. A file
// with syntax errors contributes the blocks that parsed.
func (w *Workspace) addTerraform(parser *hclparse.Parser, rel string, data []byte) {
	var file *hcl.File
	if strings.HasSuffix(strings.ToLower(rel), ".json") {
		file, _ = parser.ParseJSON(data, rel)
	} else {
		file, _ = parser.ParseHCL(data, rel)
	}
	if file == nil || file.Body == nil {
		return
	}
	dir := path.Dir(rel)
	w.tfDirs[dir] = true
	content, _, _ := file.Body.PartialContent(tfSchema)
	if content == nil {
		return
	}
	for _, b := range content.Blocks {
		loc := finding.Location{Path: rel, Line: b.DefRange.Start.Line}
		switch b.Type {
		case "resource":
			if terraformKeyTypes[b.Labels[0]] {
				loc.Match = b.Labels[0] + "." + b.Labels[1]
				w.resources = append(w.resources, tfDecl{Dir: dir, Type: b.Labels[0], Name: b.Labels[1], Loc: loc})
			}
		case "module":
			decl := tfDecl{Dir: dir, Name: b.Labels[0], Loc: loc}
			decl.Loc.Match = "module." + b.Labels[0]
			if mc, _, _ := b.Body.PartialContent(moduleSchema); mc != nil {
				if attr := mc.Attributes["source"]; attr != nil {
					if v, diags := attr.Expr.Value(nil); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
						decl.Source = v.AsString()
					}
				}
			}
			w.modules = append(w.modules, decl)
		}
	}
}

// ReadTemplate reads the KMS key resources of a CloudFormation template
// (YAML or JSON) with the line of each logical id.
func ReadTemplate(rel string, data []byte) (Template, error) {
	t := Template{Path: rel, Resources: map[string]TemplateResource{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return t, fmt.Errorf("%s: not a YAML or JSON template", rel)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return t, nil
	}
	resources := mappingValue(doc.Content[0], "Resources")
	if resources == nil || resources.Kind != yaml.MappingNode {
		return t, nil
	}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		k, v := resources.Content[i], resources.Content[i+1]
		if v.Kind != yaml.MappingNode {
			continue
		}
		r := TemplateResource{
			Type:                scalar(mappingValue(v, "Type")),
			DeletionPolicy:      scalar(mappingValue(v, "DeletionPolicy")),
			UpdateReplacePolicy: scalar(mappingValue(v, "UpdateReplacePolicy")),
			Line:                k.Line,
		}
		if cloudFormationKeyTypes[r.Type] {
			t.Resources[k.Value] = r
		}
	}
	return t, nil
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// LocateTerraform sets Declared on each deletion of p whose resource block
// is in the workspace. The root module is the directory of the plan file
// (p.Source, relative to the workspace root unless absolute) when it holds
// Terraform files; otherwise every directory is a candidate,
// and a resource declared in more than one place is left unlocated rather
// than pointed at the wrong file. A resource of a module whose source is not
// in the repository (a registry or git module) points at the module block.
func (w *Workspace) LocateTerraform(p *TerraformPlan) {
	var roots []string
	if rel, err := relDir(w.Root, p.Source); err == nil && !strings.HasPrefix(rel, "..") && w.tfDirs[filepath.ToSlash(rel)] {
		roots = []string{filepath.ToSlash(rel)}
	} else {
		for d := range w.tfDirs {
			roots = append(roots, d)
		}
		slices.Sort(roots)
	}
	for i := range p.Deletions {
		d := &p.Deletions[i]
		var found []finding.Location
		for _, root := range roots {
			if loc, ok := w.terraformDecl(root, ModulePath(d.Module), d.Type, d.Name); ok && !slices.Contains(found, loc) {
				found = append(found, loc)
			}
		}
		if len(found) == 1 {
			d.Declared = &found[0]
		}
	}
}

// terraformDecl follows the module calls of modulePath from dir and returns
// the resource block, or the block of the first module call whose source is
// outside the repository.
func (w *Workspace) terraformDecl(dir, modulePath, typ, name string) (finding.Location, bool) {
	if modulePath != "" {
		for _, call := range strings.Split(strings.TrimPrefix(modulePath, "module."), ".module.") {
			i := slices.IndexFunc(w.modules, func(m tfDecl) bool { return m.Dir == dir && m.Name == call })
			if i < 0 {
				return finding.Location{}, false
			}
			m := w.modules[i]
			if !strings.HasPrefix(m.Source, "./") && !strings.HasPrefix(m.Source, "../") {
				return m.Loc, true
			}
			dir = path.Clean(path.Join(dir, m.Source))
		}
	}
	i := slices.IndexFunc(w.resources, func(r tfDecl) bool { return r.Dir == dir && r.Type == typ && r.Name == name })
	if i < 0 {
		return finding.Location{}, false
	}
	return w.resources[i].Loc, true
}

// LocateChangeSet settles the policies of cs's deletions with the template
// that declares them, and sets Declared on each deletion whose logical id a
// template of the workspace declares with the same type. When several
// templates do, the one named after the stack wins; otherwise the deletion
// is left unlocated and its policy unsettled.
func (w *Workspace) LocateChangeSet(cs *ChangeSet) {
	for _, t := range w.templatesFor(cs) {
		cs.SettlePolicies(t)
	}
	for i := range cs.Deletions {
		d := &cs.Deletions[i]
		for _, t := range w.templatesFor(cs) {
			if r, ok := t.Resources[d.Name]; ok && r.Type == d.Type {
				d.Declared = &finding.Location{Path: t.Path, Line: r.Line, Match: d.Name}
			}
		}
	}
}

// templatesFor returns, per logical id, the one template that decides it:
// all templates when no two declare the same id; the stack's own otherwise.
func (w *Workspace) templatesFor(cs *ChangeSet) []Template {
	var out []Template
	for _, d := range cs.Deletions {
		var cands []Template
		for _, t := range w.templates {
			if r, ok := t.Resources[d.Name]; ok && r.Type == d.Type {
				cands = append(cands, t)
			}
		}
		if len(cands) > 1 && cs.Stack != "" {
			cands = slices.DeleteFunc(cands, func(t Template) bool {
				base := path.Base(t.Path)
				return !strings.HasPrefix(base, cs.Stack+".")
			})
		}
		if len(cands) == 1 {
			out = append(out, Template{Path: cands[0].Path, Resources: map[string]TemplateResource{d.Name: cands[0].Resources[d.Name]}})
		}
	}
	return out
}

// relDir is the directory of file relative to root; a relative file is
// relative to root, as the plan inputs are.
func relDir(root, file string) (string, error) {
	if !filepath.IsAbs(file) {
		file = filepath.Join(root, file)
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	absDir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return "", err
	}
	return filepath.Rel(absRoot, absDir)
}
