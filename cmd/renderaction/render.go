package main

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"

	"go.yaml.in/yaml/v3"
)

var (
	// digestPattern is an OCI sha256 content digest, lower-case hex only.
	digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	// repositoryPattern is a registry host (optional port) and a lower-case
	// repository path, with neither tag nor digest: the distribution
	// reference grammar, narrowed to what ghcr.io accepts.
	repositoryPattern = regexp.MustCompile(`^[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$`)
)

// sourceImage is the only runs.image a source action.yml may hold: main's
// action builds its Dockerfile.
const sourceImage = "Dockerfile"

// ImageRef is the runs.image value of a release: the prebuilt image by
// digest, which the runner pulls instead of building.
func ImageRef(repository, digest string) (string, error) {
	if !repositoryPattern.MatchString(repository) {
		return "", fmt.Errorf("image %q is not a lower-case registry/repository path without tag or digest (e.g. ghcr.io/owner/kms-deletion-gate)", repository)
	}
	if !digestPattern.MatchString(digest) {
		return "", fmt.Errorf("digest %q is not sha256: followed by 64 lower-case hex digits", digest)
	}
	return "docker://" + repository + "@" + digest, nil
}

// Render returns src, a source action.yml whose runs.image is Dockerfile,
// with that one value replaced by the prebuilt image by digest. Every other
// byte (comments, inputs, outputs, quoting) is kept; the result is parsed
// back and compared with src to prove it.
func Render(src []byte, repository, digest string) ([]byte, error) {
	ref, err := ImageRef(repository, digest)
	if err != nil {
		return nil, err
	}
	value, err := imageNode(src)
	if err != nil {
		return nil, err
	}
	out, err := replaceScalar(src, value, ref)
	if err != nil {
		return nil, err
	}
	if err := sameExceptImage(src, out, ref); err != nil {
		return nil, fmt.Errorf("internal error: rendering changed more than runs.image: %w", err)
	}
	return out, nil
}

// imageNode finds runs.image in a Docker action's metadata and checks it is
// the Dockerfile.
func imageNode(src []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("action.yml: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("action.yml: not a YAML mapping")
	}
	runs := mappingValue(doc.Content[0], "runs")
	if runs == nil || runs.Kind != yaml.MappingNode {
		return nil, errors.New("action.yml: no runs: mapping")
	}
	if using := mappingValue(runs, "using"); using == nil || using.Value != "docker" {
		return nil, errors.New("action.yml: runs.using is not docker")
	}
	image := mappingValue(runs, "image")
	if image == nil || image.Kind != yaml.ScalarNode {
		return nil, errors.New("action.yml: no runs.image")
	}
	if image.Value != sourceImage {
		return nil, fmt.Errorf("action.yml line %d: runs.image is %q, want %q (render from main's action.yml, not from a rendered one)", image.Line, image.Value, sourceImage)
	}
	return image, nil
}

// mappingValue returns the value of key in a mapping node, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// replaceScalar swaps the text of one scalar node, written as Dockerfile,
// "Dockerfile" or 'Dockerfile', for a double-quoted value, keeping the rest
// of its line (e.g. a trailing comment).
func replaceScalar(src []byte, node *yaml.Node, value string) ([]byte, error) {
	lines := bytes.SplitAfter(src, []byte("\n"))
	i, col := node.Line-1, node.Column-1
	if i < 0 || i >= len(lines) || col < 0 || col > len(lines[i]) {
		return nil, fmt.Errorf("action.yml: runs.image position %d:%d is outside the file", node.Line, node.Column)
	}
	line := lines[i]
	rest := line[col:]
	var token string
	for _, t := range []string{`"` + sourceImage + `"`, `'` + sourceImage + `'`, sourceImage} {
		if bytes.HasPrefix(rest, []byte(t)) {
			token = t
			break
		}
	}
	if token == "" {
		return nil, fmt.Errorf("action.yml line %d: runs.image is not written on one line as %s", node.Line, sourceImage)
	}
	var b bytes.Buffer
	b.Grow(len(src) + len(value))
	for j, l := range lines {
		if j != i {
			b.Write(l)
			continue
		}
		b.Write(line[:col])
		b.WriteString(`"` + value + `"`)
		b.Write(rest[len(token):])
	}
	return b.Bytes(), nil
}

// sameExceptImage parses both documents and checks they are equal once
// runs.image is set aside, and that out's runs.image is want.
func sameExceptImage(src, out []byte, want string) error {
	var a, b map[string]any
	if err := yaml.Unmarshal(src, &a); err != nil {
		return err
	}
	if err := yaml.Unmarshal(out, &b); err != nil {
		return err
	}
	runs, ok := b["runs"].(map[string]any)
	if !ok || runs["image"] != want {
		return fmt.Errorf("runs.image is %v, want %s", runs["image"], want)
	}
	runs["image"] = sourceImage
	if !reflect.DeepEqual(a, b) {
		return errors.New("documents differ")
	}
	return nil
}
