package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/config"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

var opts = config.LoadOptions{Now: now, KnownTypes: []string{"security-key", "workflow", "test"}}

func TestParseValid(t *testing.T) {
	src := `version: 1
timeout: 15m
policy:
  dirs: [policy]
  block_on: [critical]
  waiver_horizon: 60d
checks:
  - name: security-key
    timeout: 30s
    with:
      key: docs/keys/security.asc
  - name: wf-release
    type: workflow
    required: false
waivers:
  - id: KEY-NO-EXPIRY
    check: security-key
    reason: rotating next quarter
    owner: sec-team
    expires: 2026-12-31
`
	cfg, err := config.Parse("readiness.yaml", []byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(cfg.Checks), 2; got != want {
		t.Fatalf("checks: %d, want %d", got, want)
	}
	type view struct {
		Name, Type string
		Required   bool
		Timeout    time.Duration
		Line       int
	}
	var got []view
	for _, c := range cfg.Checks {
		got = append(got, view{c.Name, c.Type, c.IsRequired(), c.Timeout.D(), c.Line})
	}
	want := []view{
		{"security-key", "security-key", true, 30 * time.Second, 8},
		{"wf-release", "workflow", false, config.DefaultCheckTimeout, 12},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("checks (-want +got):\n%s", d)
	}
	if cfg.Timeout.D() != 15*time.Minute || cfg.Policy.WaiverHorizon.D() != 60*24*time.Hour {
		t.Errorf("durations: timeout %s horizon %s", cfg.Timeout.D(), cfg.Policy.WaiverHorizon.D())
	}
	if cfg.Policy.WaiverWarn.D() != config.DefaultWaiverWarn {
		t.Errorf("waiver_warn default: %s", cfg.Policy.WaiverWarn.D())
	}
	w := cfg.Waivers[0]
	if w.Expires.String() != "2026-12-31" || w.Line != 16 || w.Owner != "sec-team" {
		t.Errorf("waiver: %+v", w)
	}
	if !strings.HasPrefix(cfg.Digest, "sha256:") || len(cfg.Digest) != 71 {
		t.Errorf("digest: %q", cfg.Digest)
	}
	var with struct {
		Key string `yaml:"key"`
	}
	if err := config.DecodeStrict("readiness.yaml", &cfg.Checks[0].With, &with); err != nil || with.Key != "docs/keys/security.asc" {
		t.Errorf("with: %+v, %v", with, err)
	}
}

func TestParseErrors(t *testing.T) {
	base := "version: 1\nchecks:\n  - name: security-key\n"
	waiver := func(body string) string {
		return base + "waivers:\n  - " + body + "\n"
	}
	tests := []struct {
		name, src, want string
	}{
		{"empty", "", "readiness.yaml: the file is empty"},
		{"syntax", "version: 1\nchecks: [\n", "readiness.yaml:2: YAML syntax error"},
		{"not a mapping", "- a\n- b\n", "readiness.yaml:1: expected a mapping"},
		{"unknown top-level key", base + "chekcs: []\n", `readiness.yaml:4: unknown key "chekcs"; expected one of: version, timeout, policy, checks, waivers`},
		{"unknown check key", base + "    requird: true\n", `readiness.yaml:4: unknown key "requird"`},
		{"wrong type", "version: one\nchecks:\n  - name: a\n", `readiness.yaml:1: expected a whole number, got "one"`},
		// yaml.v3's raw "cannot unmarshal !!map into []config.CheckSpec" reached the user.
		{"checks as a map", "version: 1\nchecks:\n  security-key:\n    timeout: 1m\n", `readiness.yaml:3: expected a list, got a mapping; write each entry as a list item starting with "- " (for checks: "- name: security-key")`},
		{"policy as a list", "version: 1\npolicy:\n  - dirs: [p]\nchecks:\n  - name: security-key\n", `readiness.yaml:3: expected a mapping, got a list; remove the leading "- " and write the keys directly`},
		{"wrong type bool", base + "    required: maybe\n", `readiness.yaml:4: expected true or false, got "maybe"`},
		{"bad version", "version: 2\nchecks:\n  - name: security-key\n", "readiness.yaml:1: version must be 1 (got 2)"},
		{"no checks", "version: 1\n", "no checks configured"},
		{"bad duration", base + "    timeout: 10 minutes\n", `readiness.yaml:4: "10 minutes" is not a duration`},
		{"negative duration", base + "    timeout: -5s\n", `readiness.yaml:4: "-5s" is not a duration`},
		{"unknown check type", "version: 1\nchecks:\n  - name: sbom\n", `readiness.yaml:3: check "sbom": unknown check type "sbom"; this build implements: security-key, workflow, test`},
		{"duplicate check", base + "  - name: security-key\n", `readiness.yaml:4: check "security-key" is configured twice (first at line 3)`},
		{"duplicate key", base + "    timeout: 1s\n    timeout: 2s\n", `readiness.yaml:5: key "timeout" is given twice (first at line 4)`},
		{"bad name", "version: 1\nchecks:\n  - name: Security Key\n    type: security-key\n", `check name "Security Key"`},
		{"missing name", "version: 1\nchecks:\n  - type: workflow\n", "readiness.yaml:3: a check needs a name"},
		{"bad severity", base + "    block_on: [severe]\n", `"severe" is not a severity`},
		{"bad date", waiver("{id: X, reason: r, owner: o, expires: 2026-13-01}"), `readiness.yaml:5: "2026-13-01" is not a date; write YYYY-MM-DD`},
		{"waiver without reason", waiver("{id: X, owner: o, expires: 2026-12-01}"), `readiness.yaml:5: waiver "X" lacks reason`},
		{"waiver without expiry", waiver("{id: X, reason: r, owner: o}"), `lacks expires`},
		{"waiver without owner", waiver("{id: X, reason: r, expires: 2026-12-01}"), `lacks owner`},
		{"waiver beyond horizon", waiver("{id: X, reason: r, owner: o, expires: 2027-06-01}"), `expires 2027-06-01, further out than the 90-day horizon`},
		{"waiver for unknown check", waiver("{id: X, check: nope, reason: r, owner: o, expires: 2026-12-01}"), `names check "nope", which is not configured`},
		{"waiver unknown key", waiver("{id: X, reason: r, owner: o, expires: 2026-12-01, approver: me}"), `readiness.yaml:5: unknown key "approver"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("readiness.yaml", []byte(tt.src), opts)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Errorf("error is %T, want *config.Error", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestLoadMissingAndUnreadable(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "nope.yaml"), opts)
	if !errors.Is(err, config.ErrNotFound) {
		t.Errorf("missing file: %v, want ErrNotFound", err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "d.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = config.Load(filepath.Join(dir, "d.yaml"), opts)
	if err == nil || !strings.Contains(err.Error(), "cannot read") {
		t.Errorf("directory as config: %v", err)
	}
}

func TestDecodeStrictNested(t *testing.T) {
	src := "version: 1\nchecks:\n  - name: test\n    with:\n      suites:\n        - name: go\n          comand: [go, test]\n"
	cfg, err := config.Parse("r.yaml", []byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	var with struct {
		Suites []struct {
			Name    string   `yaml:"name"`
			Command []string `yaml:"command"`
		} `yaml:"suites"`
	}
	err = config.DecodeStrict(cfg.Path, &cfg.Checks[0].With, &with)
	if err == nil || err.Error() != `r.yaml:7: unknown key "comand"; expected one of: name, command` {
		t.Errorf("got %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "90d": 90 * 24 * time.Hour, "1h30m": 90 * time.Minute, "0d": 0} {
		got, err := config.ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "-1d", "1.5d", "soon", "10 m"} {
		if _, err := config.ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("version: 1\nchecks:\n  - name: test\n    with: {a: 1}\nwaivers:\n  - {id: X, reason: r, owner: o, expires: 2026-12-01}\n"))
	f.Add([]byte("version: 1\nchecks: [\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("f.yaml", data, opts)
		if err == nil && len(cfg.Checks) == 0 {
			t.Fatal("accepted a config without checks")
		}
		if err != nil && strings.Contains(err.Error(), "goroutine") {
			t.Fatalf("stack trace in error: %v", err)
		}
	})
}
