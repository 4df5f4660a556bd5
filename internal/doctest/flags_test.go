package doctest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/cli/root"
	"github.com/readiness-dev/readiness/internal/report"
)

// documented maps a command to the page that documents it. image and
// ledger commands are documented in pages other helpers own
// (image-scan.md, image-release.md, ledger*.md) and are not listed yet.
var documented = map[string]string{
	"readiness check":            "README.md",
	"readiness init":             "README.md",
	"readiness policy eval":      "README.md",
	"readiness policy test":      "README.md",
	"readiness explain":          "README.md",
	"readiness version":          "README.md",
	"readiness admission policy": "README.md",
	"readiness key verify":       "docs/gates/security-key.md",
	"readiness workflow lint":    "docs/gates/workflow.md",
	"readiness tests run":        "docs/gates/tests.md",
}

// TestFlagsDocumented: `init --dir`/`-o`, `policy test -v` and
// `--namespace` on the single-gate commands existed but were documented
// nowhere. Every flag of a documented command must appear, as --name, on
// its page.
func TestFlagsDocumented(t *testing.T) {
	io, _, _ := cli.Test()
	root := cli.NewRootCmd(root.NewApp(io))
	seen := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		page, ok := documented[c.CommandPath()]
		if !ok {
			return
		}
		seen++
		data, err := os.ReadFile(filepath.Join(repoRoot(t), page))
		if err != nil {
			t.Fatal(err)
		}
		c.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" {
				return
			}
			if !strings.Contains(string(data), "--"+f.Name) {
				t.Errorf("%s: `%s --%s` is not documented", page, c.CommandPath(), f.Name)
			}
		})
	}
	walk(root)
	if seen != len(documented) {
		t.Errorf("found %d of the %d documented commands", seen, len(documented))
	}
}

// TestFormatsDocumented: the gate pages listed text, json, markdown, sarif
// and junit for --format; html and github work too. Every line of a page
// that lists the formats names all of them.
func TestFormatsDocumented(t *testing.T) {
	for _, page := range []string{"docs/gates/security-key.md", "docs/gates/workflow.md", "docs/gates/tests.md"} {
		data, err := os.ReadFile(filepath.Join(repoRoot(t), page))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for i, l := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(l, "| `-f, --format`") {
				continue
			}
			found = true
			for _, f := range report.Formats {
				if !strings.Contains(l, f) {
					t.Errorf("%s:%d: --format does not list %s", page, i+1, f)
				}
			}
		}
		if !found {
			t.Errorf("%s documents no --format", page)
		}
	}
}
