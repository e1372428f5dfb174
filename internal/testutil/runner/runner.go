// Package runner reads the files an Actions step writes for the runner, the
// way the runner reads them, so that tests check what a workflow would see.
package runner

import (
	"fmt"
	"strings"
)

// ParseOutputs reads a GITHUB_OUTPUT file as the runner's
// SetOutputFileCommand does: "name=value" lines, and "name<<DELIM" blocks whose
// value is every line up to the first line equal to DELIM. A name set twice,
// a block that never closes or a line of neither form is an error (the runner
// would fail the step, or the later value would silently win).
func ParseOutputs(data string) (map[string]string, error) {
	out := map[string]string{}
	if data == "" {
		return out, nil
	}
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		var name, value string
		eq, heredoc := strings.Index(line, "="), strings.Index(line, "<<")
		switch {
		case heredoc >= 0 && (eq < 0 || heredoc < eq):
			var delim string
			name, delim = line[:heredoc], line[heredoc+2:]
			var block []string
			for i++; ; i++ {
				if i >= len(lines) {
					return nil, fmt.Errorf("output %s: no closing delimiter %q", name, delim)
				}
				if lines[i] == delim {
					break
				}
				block = append(block, lines[i])
			}
			value = strings.Join(block, "\n")
		case eq >= 0:
			name, value = line[:eq], line[eq+1:]
		default:
			return nil, fmt.Errorf("line %q is neither name=value nor name<<delimiter", line)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("output %q set twice", name)
		}
		out[name] = value
	}
	return out, nil
}
