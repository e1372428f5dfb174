package reliability

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	fp "github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/faultproxy"
)

// badConfig is one way the configuration can be wrong.
type badConfig struct {
	name     string
	injected string            // for the table; defaults to the file or value
	inputs   map[string]string // action inputs
	args     []string          // CLI flags (runs the CLI)
	file     string            // config file content (cfg.yml), given with the config input or flag
	want     string            // what the message must name: file:line: field, input NAME or flag --NAME
}

func allowFile(entry string) string {
	return "allow:\n  - " + strings.ReplaceAll(strings.TrimSpace(entry), "\n", "\n    ") + "\n"
}

func badConfigs() []badConfig {
	in := func(name, value string) map[string]string { return map[string]string{name: value} }
	okEntry := "key: alias/x\nreason: r\nexpires: 2026-12-31"
	var many strings.Builder
	many.WriteString("allow:\n")
	for i := 0; i <= 10000; i++ {
		fmt.Fprintf(&many, "  - {key: k%d, reason: r, expires: 2026-12-31}\n", i)
	}
	bomb := "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	for i, prev := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		name := string(rune('b' + i))
		bomb += fmt.Sprintf("%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", name, name, prev, prev, prev, prev, prev, prev, prev, prev, prev)
	}
	return []badConfig{
		// Inputs, one per kind of value.
		{name: "severity input", inputs: in("fail-on", "severe"), want: "input fail-on"},
		{name: "negative integer input", inputs: in("critical-days", "-1"), want: "input critical-days"},
		{name: "high-days below critical-days", inputs: map[string]string{"critical-days": "5", "high-days": "2"}, want: "input high-days"},
		{name: "integer input not a number", inputs: in("recent-use-days", "abc"), want: "input recent-use-days"},
		{name: "integer input overflow", inputs: in("recent-use-days", "99999999999999999999"), want: "input recent-use-days"},
		{name: "boolean input", inputs: in("cloudtrail", "maybe"), want: "input cloudtrail"},
		{name: "boolean input yes", inputs: in("upload-sarif", "yes"), want: "input upload-sarif"},
		{name: "boolean input number", inputs: in("include-disabled", "2"), want: "input include-disabled"},
		{name: "enum input comment", inputs: in("comment", "always"), want: "input comment"},
		{name: "enum input remediate", inputs: in("remediate", "delete"), want: "input remediate"},
		{name: "severity input remediate-on", inputs: in("remediate-on", "urgent"), want: "input remediate-on"},
		{name: "enum input on-scan-error", inputs: in("on-scan-error", "ignore"), want: "input on-scan-error"},
		{name: "zero concurrency", inputs: in("max-concurrency", "0"), want: "input max-concurrency"},
		{name: "duration input", inputs: in("timeout", "forever"), want: "input timeout"},
		{name: "zero duration", inputs: in("timeout", "0s"), want: "input timeout"},
		{name: "duration too long", inputs: in("timeout", "7h"), want: "input timeout"},
		{name: "unknown region", inputs: in("regions", "us-east-1,us-east-3"), want: "input regions"},
		{name: "region syntax", inputs: in("regions", "US-EAST-1"), want: "input regions"},
		{name: "empty region list", inputs: in("regions", ", ,"), want: "input regions"},
		{name: "role ARN", inputs: in("role-to-assume", "arn:aws:iam::1234:user/x"), want: "input role-to-assume"},
		{name: "role duration", inputs: in("role-duration-seconds", "60"), want: "input role-duration-seconds"},
		{name: "account ID", inputs: in("accounts", "12345"), want: "input accounts"},
		{name: "account without role-name", inputs: in("accounts", "123456789012"), want: "input accounts"},
		{name: "organization without role-name", inputs: in("organization", "true"), want: "input organization"},
		{name: "role name", inputs: in("role-name", "bad name!"), want: "input role-name"},
		{name: "multi-line category", inputs: in("category", "a\nb"), want: "input category"},
		{name: "missing config file", inputs: in("config", "{dir}/missing.yml"), injected: "config: a path that does not exist", want: "missing.yml: cannot read config file"},
		{name: "config path is a directory", inputs: in("config", "{dir}"), injected: "config: a directory", want: "cannot read config file"},
		// Flags.
		{name: "unknown flag", args: []string{"--fail-onn", "high"}, want: "command line"},
		{name: "positional argument", args: []string{"us-east-1"}, want: "command line: unexpected argument"},
		{name: "bad flag value", args: []string{"--max-concurrency=-5"}, want: "flag --max-concurrency"},
		{name: "bad flag with a file", args: []string{"--config", "{dir}/cfg.yml", "--fail-on", "sometimes"}, file: "fail-on: high\n", want: "flag --fail-on"},
		// The config file.
		{name: "unknown top-level field", file: "fail_on: high\n", want: "cfg.yml:1: fail_on: unknown field"},
		{name: "unknown entry field", file: allowFile(okEntry + "\nowner: me"), want: "cfg.yml:5: allow[0].owner: unknown field"},
		{name: "list for a number", file: "critical-days: [1, 2]\n", want: "cfg.yml:1: critical-days"},
		{name: "mapping for a value", file: "fail-on: {level: high}\n", want: "cfg.yml:1: fail-on: must be a value or a list"},
		{name: "number without unit", file: "timeout: 10\n", want: "cfg.yml:1: timeout"},
		{name: "empty region list in file", file: "regions: []\n", want: "cfg.yml:1: regions"},
		{name: "negative threshold in file", file: "critical-days: -1\n", want: "cfg.yml:1: critical-days"},
		{name: "high-days below critical-days in file", file: "critical-days: 9\nhigh-days: 3\n", want: "cfg.yml:2: high-days"},
		{name: "impossible date", file: allowFile("key: alias/x\nreason: r\nexpires: 2026-02-30"), want: "cfg.yml:4: allow[0].expires"},
		{name: "month 13", file: allowFile("key: alias/x\nreason: r\nexpires: 2026-13-01"), want: "cfg.yml:4: allow[0].expires"},
		{name: "date without zero padding", file: allowFile("key: alias/x\nreason: r\nexpires: 2026-2-3"), want: "cfg.yml:4: allow[0].expires"},
		{name: "date with time", file: allowFile("key: alias/x\nreason: r\nexpires: 2026-12-31T00:00:00Z"), want: "cfg.yml:4: allow[0].expires"},
		{name: "bad glob", file: allowFile("key: \"alias/[abc\"\nreason: r\nexpires: 2026-12-31"), want: "cfg.yml:2: allow[0].key"},
		{name: "bad ARN", file: allowFile("key: arn:aws:kms:us-east-1:1111:foo/bar\nreason: r\nexpires: 2026-12-31"), want: "cfg.yml:2: allow[0].key"},
		{name: "alias without prefix", file: allowFile("alias: orders\nreason: r\nexpires: 2026-12-31"), want: "cfg.yml:2: allow[0].alias"},
		{name: "unknown region in entry", file: allowFile(okEntry + "\nregion: us-east-3"), want: "cfg.yml:5: allow[0].region"},
		{name: "bad account in entry", file: allowFile(okEntry + "\naccount: \"12345678901234\""), want: "cfg.yml:5: allow[0].account"},
		{name: "missing reason", file: allowFile("key: alias/x\nexpires: 2026-12-31"), want: "cfg.yml:2: allow[0].reason: is required"},
		{name: "empty reason", file: allowFile("key: alias/x\nreason: \"  \"\nexpires: 2026-12-31"), want: "cfg.yml:3: allow[0].reason: is empty"},
		{name: "missing expires", file: allowFile("key: alias/x\nreason: r"), want: "cfg.yml:2: allow[0].expires: is required"},
		{name: "no key or alias", file: allowFile("account: \"111122223333\"\nreason: r\nexpires: 2026-12-31"), want: "cfg.yml:2: allow[0]: needs key or alias"},
		{name: "list for a value", file: allowFile("key: [a, b]\nreason: r\nexpires: 2026-12-31"), want: "cfg.yml:2: allow[0].key: must be a single value"},
		{name: "field given twice", file: allowFile(okEntry + "\nreason: again"), want: "cfg.yml:5: allow[0].reason: given twice"},
		{name: "duplicate entries", file: "allow:\n  - {key: alias/x, reason: r, expires: 2026-12-31}\n  - {key: alias/x, reason: s, expires: 2027-01-31}\n", want: "cfg.yml:3: allow[1]: duplicates the entry on line 2"},
		{name: "duplicate top-level field", file: "fail-on: high\nfail-on: low\n", want: "cfg.yml:2: fail-on: given twice"},
		{name: "allow not a list", file: "allow:\n  key: alias/x\n", want: "cfg.yml:2: allow: must be a list"},
		{name: "entry not a mapping", file: "allow:\n  - alias/x\n", want: "cfg.yml:2: allow[0]: must be a mapping"},
		{name: "root is a list", file: "- fail-on: high\n", want: "cfg.yml:1: the config file must be a mapping"},
		{name: "root is a scalar", file: "fail-on\n", want: "cfg.yml:1: the config file must be a mapping"},
		{name: "invalid YAML", file: "allow: [\n", injected: "an unclosed flow sequence", want: "cfg.yml:1: invalid YAML"},
		{name: "tab indentation", file: "allow:\n\t- key: x\n", injected: "a tab-indented list", want: "cfg.yml:2: invalid YAML"},
		{name: "invalid UTF-8", file: "fail-on: \xff\xfe\n", injected: "bytes 0xff 0xfe", want: "cfg.yml"},
		{name: "second YAML document", file: "fail-on: none\n---\n" + allowFile(okEntry), want: "cfg.yml:3: a second YAML document"},
		{name: "anchor and alias", file: "base: &b {reason: r}\nallow:\n  - *b\n", want: "cfg.yml:1: YAML anchors and aliases are not allowed"},
		{name: "alias bomb", file: bomb + "allow: *i\n", injected: "a billion-laughs alias bomb (9^9 expansions)", want: "YAML anchors and aliases are not allowed"},
		{name: "deep nesting", file: "allow: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n", injected: "20,000 nested flow sequences", want: "cfg.yml"},
		{name: "too many entries", file: many.String(), injected: "10,001 allowlist entries", want: "cfg.yml:2: allow: 10001 entries, more than the 10000 allowed"},
		{name: "huge file", file: "# " + strings.Repeat("x", 1<<20) + "\n", injected: "a 1 MiB comment", want: "cfg.yml: config file is 1048579 bytes"},
	}
}

func badConfigSuite(t *testing.T, rec *recorder) {
	cases := badConfigs()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// Every AWS request would be counted here; none may be made.
			p, err := fp.New("http://127.0.0.1:9")
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			s := spec{endpoint: p.URL, inputs: map[string]string{}}
			for k, v := range c.inputs {
				s.inputs[k] = v
			}
			if c.file != "" {
				s.files = map[string][]byte{"cfg.yml": []byte(c.file)}
				if c.args == nil {
					s.inputs["config"] = "{dir}/cfg.yml"
				}
			}
			if c.args != nil {
				s.cli, s.args = true, c.args
			}
			o := run(t, s)
			msg := firstConfigError(o)
			injected := c.injected
			if injected == "" {
				switch {
				case c.args != nil:
					injected = strings.Join(c.args, " ")
				case c.file != "":
					injected = "cfg.yml: " + strings.ReplaceAll(strings.TrimSpace(c.file), "\n", "⏎ ")
				default:
					for _, k := range sortedKeys(c.inputs) {
						injected += fmt.Sprintf("%s: %q ", k, c.inputs[k])
					}
				}
			}
			rec.add(row{Group: "Bad configuration", Order: i, Case: c.name, Injected: "`" + strings.ReplaceAll(clipRunes(strings.TrimSpace(injected), 70), "`", "'") + "`",
				Exit: fmt.Sprint(o.code), Findings: "-", Requests: fmt.Sprint(p.Total()), Reported: clipRunes(strings.ReplaceAll(strings.ReplaceAll(msg, o.dir+"/", ""), o.dir, "{dir}"), 110), Lost: "nothing (nothing scanned)"})

			if o.code != app.ExitBadConfig {
				t.Errorf("exit %d, want 2\n%s", o.code, o.stdout)
			}
			if n := p.Total(); n != 0 {
				t.Errorf("%d AWS requests made with a bad configuration, want 0\n%s", n, p.CountsText())
			}
			if !strings.Contains(o.log(), c.want) {
				t.Errorf("the message does not name %q:\n%s", c.want, o.log())
			}
			if !c.cliRun() && !strings.Contains(o.stdout, "::error::bad configuration: ") {
				t.Errorf("no ::error:: annotation for the bad configuration:\n%s", o.stdout)
			}
			if o.report != nil {
				t.Errorf("a JSON report was written although nothing was scanned")
			}
			checkLog(t, "stdout", o.stdout)
			checkLog(t, "stderr", o.stderr)
		})
	}
}

func (c badConfig) cliRun() bool { return c.args != nil }

// log is the run's log: stderr for a CLI run, stdout in Actions (the other
// stream is then empty).
func (o outcome) log() string { return o.stdout + o.stderr }

// firstConfigError returns the first "bad configuration:" message of a run.
func firstConfigError(o outcome) string {
	for _, line := range strings.Split(o.log(), "\n") {
		if i := strings.Index(line, "bad configuration: "); i >= 0 {
			return strings.TrimSpace(line[i+len("bad configuration: "):])
		}
	}
	return "(no message)"
}

func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
