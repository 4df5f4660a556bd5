// Package config loads readiness.yaml: which checks run, their inputs, which
// are required, their timeouts, the policy settings and the waivers. Loading
// is strict: unknown keys, wrong types, bad durations or dates are errors
// that name the file and line.
package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Version is the only config version this build understands.
const Version = 1

// Default values.
const (
	DefaultWaiverHorizon = 90 * 24 * time.Hour
	DefaultWaiverWarn    = 14 * 24 * time.Hour
	DefaultCheckTimeout  = 10 * time.Minute
)

// Config is a loaded readiness.yaml.
type Config struct {
	// Path is the file it was read from; Dir the directory relative paths
	// in it are resolved against; Digest the sha256 of its bytes.
	Path   string `yaml:"-"`
	Dir    string `yaml:"-"`
	Digest string `yaml:"-"`

	Version int         `yaml:"version"`
	Timeout Duration    `yaml:"timeout"`
	Policy  Policy      `yaml:"policy"`
	Checks  []CheckSpec `yaml:"checks"`
	Waivers []Waiver    `yaml:"waivers"`
	// Require lists gate types that must be configured: a full run without
	// a check of each is NO-GO (GATE-NOT-CONFIGURED). Default: none.
	Require []string `yaml:"require"`
}

// Policy settings.
type Policy struct {
	// Dirs are extra Rego policy directories, relative to the config file.
	Dirs []string `yaml:"dirs"`
	// BlockOn are the severities that block unless waived.
	BlockOn []string `yaml:"block_on"`
	// WaiverHorizon is the furthest a waiver's expiry may lie in the future.
	WaiverHorizon Duration `yaml:"waiver_horizon"`
	// WaiverWarn is how close to expiry a waiver starts to warn.
	WaiverWarn Duration `yaml:"waiver_warn"`
	// Namespaces are Rego packages evaluated besides readiness (conftest's
	// --namespace); AllNamespaces evaluates every package with deny or warn.
	Namespaces    []string `yaml:"namespaces"`
	AllNamespaces bool     `yaml:"all_namespaces"`
}

// CheckSpec configures one check instance.
type CheckSpec struct {
	// Name identifies this instance; Type selects the gate and defaults to Name.
	Name     string   `yaml:"name"`
	Type     string   `yaml:"type"`
	Required *bool    `yaml:"required"`
	Timeout  Duration `yaml:"timeout"`
	// BlockOn overrides policy.block_on for this check's findings.
	BlockOn []string `yaml:"block_on"`
	// With holds the gate's own settings, decoded strictly by the gate.
	With yaml.Node `yaml:"with"`
	Line int       `yaml:"-"`
}

// IsRequired reports whether the check must run for a GO; the default is yes.
func (c CheckSpec) IsRequired() bool { return c.Required == nil || *c.Required }

// Waiver accepts a known finding until a date.
type Waiver struct {
	// ID is a rule ID (KEY-NO-EXPIRY) or a finding ID
	// (SCAN-HIGH-VULN/CVE-2024-0001/...); a trailing * matches a prefix.
	ID      string `yaml:"id"`
	Check   string `yaml:"check"`
	Reason  string `yaml:"reason"`
	Owner   string `yaml:"owner"`
	Expires Date   `yaml:"expires"`
	Line    int    `yaml:"-"`
}

// LoadOptions are what Load needs besides the file.
type LoadOptions struct {
	// Now is the clock waivers are judged by.
	Now time.Time
	// KnownTypes lists the gates this build implements.
	KnownTypes []string
}

// ErrNotFound is returned (wrapped) when the config file does not exist.
var ErrNotFound = errors.New("config file not found")

// Load reads and validates path.
func Load(path string, opts LoadOptions) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w; create one (see README, \"Configuration\") or pass --config", path, ErrNotFound)
	}
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))}
	}
	cfg, err := Parse(path, data, opts)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", path, err)
	}
	cfg.Dir = filepath.Dir(abs)
	return cfg, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`) })

// Parse validates config bytes read from file.
func Parse(file string, data []byte, opts LoadOptions) (*Config, error) {
	sum := sha256.Sum256(data)
	cfg := &Config{Path: file, Dir: ".", Digest: "sha256:" + hex.EncodeToString(sum[:])}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{File: file, Msg: "the file is empty; it needs at least `version: 1` and a `checks:` list"}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(file, err)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: 1, Msg: "expected a mapping with keys version, checks, waivers, policy, timeout"}
	}
	doc := root.Content[0]
	if err := DecodeStrict(file, doc, cfg); err != nil {
		return nil, err
	}
	// Record the lines of list items for later messages.
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "checks":
			for j, item := range v.Content {
				if j < len(cfg.Checks) {
					cfg.Checks[j].Line = item.Line
				}
			}
		case "waivers":
			for j, item := range v.Content {
				if j < len(cfg.Waivers) {
					cfg.Waivers[j].Line = item.Line
				}
			}
		}
	}
	if err := cfg.validate(doc, opts); err != nil {
		return nil, err
	}
	return cfg, nil
}

func syntaxError(file string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := lineRE().FindStringSubmatch(msg); m != nil {
		var line int
		fmt.Sscan(m[1], &line)
		return &Error{File: file, Line: line, Msg: "YAML syntax error: " + m[2]}
	}
	return &Error{File: file, Msg: "YAML syntax error: " + msg}
}

func (c *Config) validate(doc *yaml.Node, opts LoadOptions) error {
	file := c.Path
	if c.Version != Version {
		return &Error{File: file, Line: keyLine(doc, "version"), Msg: fmt.Sprintf("version must be %d (got %d)", Version, c.Version)}
	}
	if c.Policy.WaiverHorizon == 0 {
		c.Policy.WaiverHorizon = Duration(DefaultWaiverHorizon)
	}
	if c.Policy.WaiverWarn == 0 {
		c.Policy.WaiverWarn = Duration(DefaultWaiverWarn)
	}
	if len(c.Policy.BlockOn) == 0 {
		c.Policy.BlockOn = []string{"critical", "high"}
	}
	if err := validSeverities(file, keyLine(doc, "policy"), "policy.block_on", c.Policy.BlockOn); err != nil {
		return err
	}
	if len(c.Checks) == 0 {
		return &Error{File: file, Line: keyLine(doc, "checks"), Msg: "no checks configured; list at least one under `checks:`"}
	}
	seen := map[string]int{}
	for i := range c.Checks {
		ch := &c.Checks[i]
		if ch.Name == "" {
			return &Error{File: file, Line: ch.Line, Msg: "a check needs a name"}
		}
		if !nameRE().MatchString(ch.Name) {
			return &Error{File: file, Line: ch.Line, Msg: fmt.Sprintf("check name %q: use lowercase letters, digits and dashes", ch.Name)}
		}
		if prev, dup := seen[ch.Name]; dup {
			return &Error{File: file, Line: ch.Line, Msg: fmt.Sprintf("check %q is configured twice (first at line %d); give each instance its own name and set `type:`", ch.Name, prev)}
		}
		seen[ch.Name] = ch.Line
		if ch.Type == "" {
			ch.Type = ch.Name
		}
		if opts.KnownTypes != nil && !slices.Contains(opts.KnownTypes, ch.Type) {
			return &Error{File: file, Line: ch.Line, Msg: fmt.Sprintf("check %q: unknown check type %q; this build implements: %s", ch.Name, ch.Type, strings.Join(opts.KnownTypes, ", "))}
		}
		if ch.Timeout == 0 {
			ch.Timeout = Duration(DefaultCheckTimeout)
		}
		if err := validSeverities(file, ch.Line, "block_on", ch.BlockOn); err != nil {
			return err
		}
	}
	for _, typ := range c.Require {
		if opts.KnownTypes != nil && !slices.Contains(opts.KnownTypes, typ) {
			return &Error{File: file, Line: keyLine(doc, "require"), Msg: fmt.Sprintf("require: unknown gate type %q; this build implements: %s", typ, strings.Join(opts.KnownTypes, ", "))}
		}
	}
	horizon := c.Policy.WaiverHorizon.D()
	for i := range c.Waivers {
		w := &c.Waivers[i]
		var missing []string
		if strings.TrimSpace(w.ID) == "" {
			missing = append(missing, "id")
		}
		if strings.TrimSpace(w.Reason) == "" {
			missing = append(missing, "reason")
		}
		if strings.TrimSpace(w.Owner) == "" {
			missing = append(missing, "owner")
		}
		if w.Expires.IsZero() {
			missing = append(missing, "expires")
		}
		if len(missing) > 0 {
			return &Error{File: file, Line: w.Line, Msg: fmt.Sprintf("waiver %q lacks %s; every waiver needs id, reason, owner and expires (YYYY-MM-DD)", w.ID, strings.Join(missing, ", "))}
		}
		if w.Check != "" {
			if _, ok := seen[w.Check]; !ok {
				return &Error{File: file, Line: w.Line, Msg: fmt.Sprintf("waiver %q names check %q, which is not configured", w.ID, w.Check)}
			}
		}
		if !opts.Now.IsZero() && w.Expires.End().Sub(opts.Now) > horizon {
			return &Error{File: file, Line: w.Line, Msg: fmt.Sprintf("waiver %q expires %s, further out than the %d-day horizon (policy.waiver_horizon); pick a nearer date and review it then", w.ID, w.Expires, int(horizon.Hours()/24))}
		}
	}
	if c.Timeout < 0 {
		return &Error{File: file, Line: keyLine(doc, "timeout"), Msg: "timeout must be positive"}
	}
	return nil
}

func validSeverities(file string, line int, what string, sevs []string) error {
	for _, s := range sevs {
		switch s {
		case "critical", "high", "medium", "low", "info":
		default:
			return &Error{File: file, Line: line, Msg: fmt.Sprintf("%s: %q is not a severity; use critical, high, medium, low or info", what, s)}
		}
	}
	return nil
}

func keyLine(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return m.Line
}

// Resolve makes p absolute against the config's directory.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// Check returns the spec named name.
func (c *Config) Check(name string) (CheckSpec, bool) {
	for _, ch := range c.Checks {
		if ch.Name == name {
			return ch, true
		}
	}
	return CheckSpec{}, false
}
