// Package testsuite is the `tests` gate: it runs a project's own test
// suites (any language, any runner), repeatedly if asked, reads the report
// each run writes — JUnit XML, `go test -json`, or TAP — and reports what a
// careful release manager would want to know: which required regression
// tests are missing, skipped or failing, which tests are flaky across runs,
// whether anything ran at all, and whether the runner's exit code agrees
// with its report. It gathers evidence; the policy decides.
package testsuite

import (
	_ "embed"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/repo"
)

//go:embed rules.yaml
var rulesYAML []byte

// Type is the gate's type in readiness.yaml.
const Type = "tests"

// Report formats.
const (
	FormatJUnit  = "junit"
	FormatGoTest = "go-test-json"
	FormatTAP    = "tap"
)

// Formats lists the report formats.
var Formats = []string{FormatJUnit, FormatGoTest, FormatTAP}

// Limits.
const (
	MaxRepeat        = 100
	DefaultMaxReport = 128 // MiB
)

// Gate describes the `tests` gate.
func Gate() checks.Gate {
	return checks.Gate{
		Type:    Type,
		Summary: "run the project's test suites, repeatedly, and require the regression tests that guard its blockers",
		Rules:   book,
		New: func(env checks.Env, spec config.CheckSpec) (checks.Check, error) {
			return FromSpec(env, spec)
		},
		Command: command(),
	}
}

// Options is the `with:` block of a `tests` check.
type Options struct {
	// Suites are run one after another, in order.
	Suites []SuiteOptions `yaml:"suites"`
	// LogDir receives one log file per suite run, relative to the config's
	// directory. Default: a new os.TempDir()/readiness-tests-* directory.
	LogDir string `yaml:"log_dir"`
	// Only runs just these suites (all when empty): `tests run --suite`.
	Only []string `yaml:"only"`
	// Repeat, when set, runs every suite this many times, replacing each
	// suite's own repeat: `tests run --repeat`.
	Repeat int `yaml:"repeat"`
}

// SuiteOptions configures one suite.
type SuiteOptions struct {
	// Name identifies the suite in findings and for --suite.
	Name string `yaml:"name"`
	// Command is the argument list; the first is looked up in PATH (or,
	// containing a slash, taken relative to Dir). Never run by a shell.
	Command []string `yaml:"command"`
	// Dir is the working directory, relative to the config's directory.
	Dir string `yaml:"dir"`
	// Env adds variables to the inherited environment.
	Env map[string]string `yaml:"env"`
	// Timeout bounds each run; 0 leaves only the check's own timeout.
	Timeout config.Duration `yaml:"timeout"`
	// Repeat runs the suite N times to expose flaky tests (default 1).
	Repeat int `yaml:"repeat"`
	// Report says where the results are and in what format.
	Report ReportOptions `yaml:"report"`
	// Required tests must be in every run's report, and pass in every run.
	Required []Pattern `yaml:"required"`
}

// ReportOptions locates a suite's report.
type ReportOptions struct {
	// Format is junit, go-test-json or tap.
	Format string `yaml:"format"`
	// Path is the report file, relative to the suite's dir: a file, a glob
	// (target/surefire-reports/TEST-*.xml) or a directory (every *.xml in
	// it). Required for junit; go-test-json and tap read stdout without it.
	Path string `yaml:"path"`
	// MaxMB caps the size of a report (and of stdout read as one), in MiB.
	MaxMB int `yaml:"max_mb"`
}

var suiteNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`) })

// FromSpec builds the check from its readiness.yaml entry.
func FromSpec(env checks.Env, spec config.CheckSpec) (*Check, error) {
	var o Options
	if err := config.DecodeStrict(env.ConfigFile, &spec.With, &o); err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return &config.Error{File: env.ConfigFile, Line: spec.Line, Msg: fmt.Sprintf("check %q: ", spec.Name) + fmt.Sprintf(format, args...)}
	}
	if len(o.Suites) == 0 {
		return nil, bad("with.suites is empty; configure at least one suite (see docs/gates/tests.md)")
	}
	if o.Repeat < 0 || o.Repeat > MaxRepeat {
		return nil, bad("repeat must be between 1 and %d", MaxRepeat)
	}
	dir := env.Dir
	if dir == "" {
		dir = "."
	}
	seen := map[string]bool{}
	var suites []suite
	for i := range o.Suites {
		s := o.Suites[i]
		if !suiteNameRE().MatchString(s.Name) {
			return nil, bad("suite %d: name %q: use letters, digits, '.', '_' and '-'", i+1, s.Name)
		}
		if seen[s.Name] {
			return nil, bad("suite %q is configured twice", s.Name)
		}
		seen[s.Name] = true
		if len(s.Command) == 0 || strings.TrimSpace(s.Command[0]) == "" {
			return nil, bad("suite %q: command is empty; give the argument list, e.g. [go, test, -json, ./...]", s.Name)
		}
		if !slices.Contains(Formats, s.Report.Format) {
			return nil, bad("suite %q: report.format %q: use one of %s", s.Name, s.Report.Format, strings.Join(Formats, ", "))
		}
		if s.Report.Format == FormatJUnit && s.Report.Path == "" {
			return nil, bad("suite %q: report.path is required for junit (the file the runner writes, e.g. report.xml)", s.Name)
		}
		if s.Repeat < 0 || s.Repeat > MaxRepeat {
			return nil, bad("suite %q: repeat must be between 1 and %d", s.Name, MaxRepeat)
		}
		if s.Repeat == 0 {
			s.Repeat = 1
		}
		if o.Repeat > 0 {
			s.Repeat = o.Repeat
		}
		if s.Report.MaxMB < 0 {
			return nil, bad("suite %q: report.max_mb must be positive", s.Name)
		}
		if s.Report.MaxMB == 0 {
			s.Report.MaxMB = DefaultMaxReport
		}
		for j := range s.Required {
			if err := s.Required[j].compile(s.Report.Format); err != nil {
				return nil, &config.Error{File: env.ConfigFile, Line: s.Required[j].Line, Msg: fmt.Sprintf("suite %q: %v", s.Name, err)}
			}
		}
		for k := range s.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				return nil, bad("suite %q: env: %q is not a variable name", s.Name, k)
			}
		}
		sdir := s.Dir
		if !filepath.IsAbs(sdir) {
			sdir = filepath.Join(dir, sdir)
		}
		s.Dir = sdir
		cmd := slices.Clone(s.Command)
		if strings.ContainsRune(cmd[0], '/') && !filepath.IsAbs(cmd[0]) {
			cmd[0] = filepath.Join(sdir, cmd[0])
		}
		s.Command = cmd
		if s.Report.Path != "" && !filepath.IsAbs(s.Report.Path) {
			s.Report.Path = filepath.Join(sdir, s.Report.Path)
		}
		suites = append(suites, suite{SuiteOptions: s})
	}
	if len(o.Only) > 0 {
		var kept []suite
		for _, s := range suites {
			if slices.Contains(o.Only, s.Name) {
				kept = append(kept, s)
			}
		}
		suites = kept
	}
	logDir := o.LogDir
	if logDir != "" && !filepath.IsAbs(logDir) {
		logDir = filepath.Join(dir, logDir)
	}
	now := env.Now
	if now == nil {
		now = time.Now
	}
	// Findings' paths (a test's file, the config line of a required test)
	// are relative to the repository root, wherever the config sits.
	root := env.RepoRoot()
	configFile := env.ConfigFile
	if configFile != "" {
		// ConfigFile is as the user named it; the config is in ConfigDir.
		configFile, _ = repo.Rel(root, filepath.Join(env.ConfigDir(), filepath.Base(configFile)))
	}
	return &Check{name: spec.Name, suites: suites, logDir: logDir, configFile: configFile, baseDir: root, now: now}, nil
}

// SuiteNames lists the suites this check will run.
func (c *Check) SuiteNames() []string {
	out := make([]string, len(c.suites))
	for i, s := range c.suites {
		out[i] = s.Name
	}
	return out
}

// ConfiguredSuites lists every suite name in a `tests` check's with: block,
// for --suite validation and messages.
func ConfiguredSuites(env checks.Env, spec config.CheckSpec) ([]string, error) {
	var o Options
	if err := config.DecodeStrict(env.ConfigFile, &spec.With, &o); err != nil {
		return nil, err
	}
	var names []string
	for _, s := range o.Suites {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return names, nil
}
