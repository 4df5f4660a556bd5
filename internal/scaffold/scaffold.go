// Package scaffold writes a first readiness.yaml for a repository: it looks
// at what the repository holds (a disclosure policy and its key, release
// workflows, the test runner it uses, a Dockerfile) and proposes the gates
// that fit, commented, so that `readiness check` runs at once and a team
// can read why each gate is there. It only reads; it decides nothing.
package scaffold

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/disclosure"
)

// Plan is what Inspect found and Render writes.
type Plan struct {
	// SecurityMD, SecurityTxt and Keys are the disclosure policy, the
	// RFC 9116 file and the OpenPGP key files (*.asc) found.
	SecurityMD  string
	SecurityTxt string
	Keys        []string
	// KeyPromised is set when a key file was found or the disclosure
	// policy promises a key (names one, a fingerprint, or encryption):
	// without it there is no key to verify and no security-key gate.
	KeyPromised bool
	// Workflows are the workflow files that release, sign or publish.
	Workflows []string
	// AnyWorkflows is set when .github/workflows holds any workflow.
	AnyWorkflows bool
	// Suites are the test suites the repository's tooling suggests.
	Suites []Suite
	// Image is the image reference guessed for image-scan, and Source the
	// file it was guessed from ("" when nothing suggests an image).
	Image, ImageSource string
}

// Suite is one tests-gate suite.
type Suite struct {
	Name    string
	Why     string // which file suggested it
	Command []string
	Env     map[string]string
	Format  string // junit, go-test-json or tap
	Path    string // report path for junit
	Note    string // a caveat for the reader, written as a comment
	// Commented: the runner writes no report the tests gate reads, so the
	// suite is proposed commented out, with Note saying what to add.
	Commented bool
}

// skipDirs are never walked: dependencies and build output hold other
// projects' keys and workflows.
var skipDirs = []string{".git", "node_modules", "vendor", ".venv", "venv", "dist", "build", "target", ".tox", "__pycache__"}

// maxWalk bounds how many entries Inspect looks at for *.asc files.
const maxWalk = 20000

// Inspect looks at the repository in fsys.
func Inspect(fsys fs.FS) (Plan, error) {
	var p Plan
	p.SecurityMD = firstFile(fsys, "SECURITY.md", ".github/SECURITY.md", "docs/SECURITY.md")
	p.SecurityTxt = firstFile(fsys, ".well-known/security.txt", "security.txt")
	if p.SecurityTxt == "" {
		// A site's web root in the repository (docs/.well-known/ …).
		p.SecurityTxt = disclosure.FindWebrootFile(fsys, ".well-known/security.txt")
	}
	p.Keys = findKeys(fsys, p.SecurityMD)
	if k := txtKey(fsys, p.SecurityTxt); k != "" && !slices.Contains(p.Keys, k) {
		p.Keys = append([]string{k}, p.Keys...)
	}
	p.KeyPromised = len(p.Keys) > 0 || keyPromised(fsys, p.SecurityMD, p.SecurityTxt)
	p.Workflows, p.AnyWorkflows = releaseWorkflows(fsys)
	p.Suites = suites(fsys)
	p.Image, p.ImageSource = guessImage(fsys, p.Workflows)
	return p, nil
}

// txtKey is the repository file that security.txt's Encryption: URL
// serves from the project's web root, if any.
func txtKey(fsys fs.FS, securityTxt string) string {
	if securityTxt == "" {
		return ""
	}
	for _, ref := range disclosure.ParseSecurityTxt(securityTxt, readSmall(fsys, securityTxt)).KeyRefs {
		if f := disclosure.FileForURL(fsys, ref.Value); f != "" {
			return f
		}
	}
	return ""
}

// keyPromised reads the disclosure policy and security.txt as the
// security-key gate reads them.
func keyPromised(fsys fs.FS, securityMD, securityTxt string) bool {
	var c disclosure.Claims
	if securityMD != "" {
		c = disclosure.ParseSecurityMD(securityMD, readSmall(fsys, securityMD))
	}
	if securityTxt != "" && !c.PromisesKey() {
		c = disclosure.ParseSecurityTxt(securityTxt, readSmall(fsys, securityTxt))
	}
	return c.PromisesKey()
}

func firstFile(fsys fs.FS, names ...string) string {
	for _, n := range names {
		if st, err := fs.Stat(fsys, n); err == nil && st.Mode().IsRegular() {
			return n
		}
	}
	return ""
}

func readSmall(fsys fs.FS, name string) []byte {
	st, err := fs.Stat(fsys, name)
	if err != nil || !st.Mode().IsRegular() || st.Size() > 1<<20 {
		return nil
	}
	b, _ := fs.ReadFile(fsys, name)
	return b
}

// findKeys lists *.asc files, the one SECURITY.md names first.
func findKeys(fsys fs.FS, securityMD string) []string {
	var keys []string
	n := 0
	fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if n++; n > maxWalk {
			return fs.SkipAll
		}
		if d.IsDir() && p != "." && slices.Contains(skipDirs, d.Name()) {
			return fs.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".asc") {
			keys = append(keys, p)
		}
		return nil
	})
	if securityMD != "" {
		md := string(readSmall(fsys, securityMD))
		slices.SortStableFunc(keys, func(a, b string) int {
			am, bm := strings.Contains(md, path.Base(a)), strings.Contains(md, path.Base(b))
			switch {
			case am && !bm:
				return -1
			case bm && !am:
				return 1
			}
			return 0
		})
	}
	return keys
}

var (
	// releaseNameRE matches a workflow file named for releasing.
	releaseNameRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)\b(release|releases|publish|deploy|sign|signing|cd)\b`)
	})
	// releaseRunRE matches a step command that publishes, signs or releases.
	releaseRunRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)(\b(goreleaser|cosign|notation sign|gh release|npm publish|yarn publish|pnpm publish|twine upload|cargo publish|gem push|helm push|docker push|podman push|crane (push|copy)|skopeo copy|ko (build|publish)|mvn deploy|gradle publish|readiness image release)\b|\b(make|just|task|npm run|yarn) (release|publish|deploy)\b|--push\b|\bgpg .*--(detach-)?sign\b)`)
	})
	// releaseUsesRE matches an action that publishes, signs or attests.
	releaseUsesRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)^(goreleaser/goreleaser-action|docker/build-push-action|sigstore/|actions/attest|softprops/action-gh-release|ncipollo/release-action|pypa/gh-action-pypi-publish|JS-DevTools/npm-publish|google-github-actions/deploy|aws-actions/amazon-ecs-deploy|azure/webapps-deploy)`)
	})
)

// workflowFile is the part of a GitHub workflow that says whether it
// releases: its triggers and its steps.
type workflowFile struct {
	On   yaml.Node `yaml:"on"`
	Jobs map[string]struct {
		Steps []struct {
			Uses string `yaml:"uses"`
			Run  string `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// releases reports whether a workflow releases, signs or publishes: it runs
// on a release event or a tag push, or a step publishes, signs or attests.
// Names, comments and branch names (release/*) do not count: a test-only CI
// workflow on a release branch is not a release workflow.
func releases(data []byte) bool {
	var wf workflowFile
	if yaml.Unmarshal(data, &wf) != nil {
		return false
	}
	if onRelease(&wf.On) {
		return true
	}
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			if (s.Uses != "" && releaseUsesRE().MatchString(s.Uses)) || releaseRunRE().MatchString(s.Run) {
				return true
			}
		}
	}
	return false
}

// onRelease: `on: release`, `on: [release]`, `on: {release: …}` or
// `on: {push: {tags: …}}`.
func onRelease(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value == "release"
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Value == "release" {
				return true
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			if k == "release" || k == "registry_package" {
				return true
			}
			if k == "push" && v.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(v.Content); j += 2 {
					if v.Content[j].Value == "tags" {
						return true
					}
				}
			}
		}
	}
	return false
}

// releaseWorkflows lists the workflows that release, sign or publish.
func releaseWorkflows(fsys fs.FS) ([]string, bool) {
	entries, err := fs.ReadDir(fsys, ".github/workflows")
	if err != nil {
		return nil, false
	}
	var out []string
	any := false
	for _, e := range entries {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".yml") || strings.HasSuffix(e.Name(), ".yaml")) {
			continue
		}
		any = true
		p := ".github/workflows/" + e.Name()
		if releaseNameRE().MatchString(strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".yml"), ".yaml")) || releases(readSmall(fsys, p)) {
			out = append(out, p)
		}
	}
	return out, any
}

// suites proposes one tests-gate suite per test runner found.
func suites(fsys fs.FS) []Suite {
	var out []Suite
	if firstFile(fsys, "go.mod") != "" {
		out = append(out, Suite{Name: "go", Why: "go.mod", Command: []string{"go", "test", "-json", "-count=1", "./..."}, Format: "go-test-json"})
	}
	if why := pytestConfig(fsys); why != "" {
		out = append(out, Suite{Name: "pytest", Why: why,
			Command: []string{"pytest", "-q", "-p", "no:cacheprovider", "--junitxml=build/readiness/pytest.xml"},
			Format:  "junit", Path: "build/readiness/pytest.xml"})
	}
	if s, ok := nodeSuite(fsys); ok {
		out = append(out, s)
	}
	return append(out, buildSuites(fsys, len(out) > 0)...)
}

// buildSuites proposes suites for the build systems and runners beyond Go,
// pytest and Node: meson, CMake/CTest, Maven, Gradle, cargo, Python's
// unittest, and `make test`/`make check`.
func buildSuites(fsys fs.FS, haveSuite bool) []Suite {
	var out []Suite
	meson := bytes.Contains(readSmall(fsys, "meson.build"), []byte("test("))
	if meson {
		// meson test writes a JUnit log of every run into the build dir.
		out = append(out, Suite{Name: "meson", Why: "meson.build (test())",
			Command: []string{"sh", "-c", "[ -d build ] || meson setup build; meson test -C build"},
			Format:  "junit", Path: "build/meson-logs/testlog.junit.xml"})
	}
	if cm := readSmall(fsys, "CMakeLists.txt"); cmakeTests().Match(cm) {
		out = append(out, Suite{Name: "ctest", Why: "CMakeLists.txt (enable_testing/add_test)",
			Command: []string{"sh", "-c", "cmake -S . -B build && cmake --build build && ctest --test-dir build --output-junit ctest-junit.xml"},
			Format:  "junit", Path: "build/ctest-junit.xml", Note: "ctest --output-junit needs CMake 3.21 or later"})
	}
	if firstFile(fsys, "pom.xml") != "" {
		out = append(out, Suite{Name: "maven", Why: "pom.xml", Command: []string{"mvn", "-B", "test"},
			Format: "junit", Path: "target/surefire-reports"})
	}
	if g := firstFile(fsys, "build.gradle", "build.gradle.kts"); g != "" {
		cmd := []string{"gradle", "test"}
		if firstFile(fsys, "gradlew") != "" {
			cmd = []string{"./gradlew", "test"}
		}
		out = append(out, Suite{Name: "gradle", Why: g, Command: cmd, Format: "junit", Path: "build/test-results/test"})
	}
	if firstFile(fsys, "Cargo.toml") != "" {
		out = append(out, Suite{Name: "cargo", Why: "Cargo.toml", Command: []string{"cargo", "nextest", "run", "--profile", "ci"},
			Format: "junit", Path: "target/nextest/ci/junit.xml", Commented: true,
			Note: "cargo test writes no report the tests gate reads; with cargo-nextest, add [profile.ci.junit] path = \"junit.xml\" to .config/nextest.toml and uncomment"})
	}
	if why := unittestUse(fsys); why != "" && !meson && !slices.ContainsFunc(out, func(s Suite) bool { return s.Name == "pytest" }) {
		// pytest runs unittest suites and writes the JUnit report that
		// `python -m unittest` cannot.
		out = append(out, Suite{Name: "unittest", Why: why,
			Command: []string{"python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=build/readiness/unittest.xml"},
			Format:  "junit", Path: "build/readiness/unittest.xml",
			Note: "pytest runs these unittest suites and writes JUnit, which `python -m unittest` does not; it must be installed (pip install pytest)"})
	}
	if !haveSuite && len(out) == 0 {
		if t := makeTarget(fsys); t != "" {
			out = append(out, Suite{Name: "make", Why: "Makefile (" + t + ":)", Command: []string{"make", t},
				Format: "tap", Commented: true,
				Note: "make " + t + " prints no report the tests gate reads: make it print TAP, or write JUnit and set report.path, then uncomment"})
		}
	}
	return out
}

var (
	cmakeTests = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?im)^\s*(enable_testing|add_test|include\s*\(\s*CTest)\b`)
	})
	unittestRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`python[0-9.]*\s+-m\s+unittest\b`) })
	makeTargetRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^(test|check)\s*:`) })
)

// unittestUse says where the repository runs Python's unittest: a
// `python -m unittest` in CI, tox, nox or a Makefile, or test modules that
// import unittest.
func unittestUse(fsys fs.FS) string {
	for _, f := range []string{"Makefile", "tox.ini", "noxfile.py", "setup.cfg", "pyproject.toml"} {
		if unittestRE().Match(readSmall(fsys, f)) {
			return f + " (python -m unittest)"
		}
	}
	if entries, err := fs.ReadDir(fsys, ".github/workflows"); err == nil {
		for _, e := range entries {
			if p := ".github/workflows/" + e.Name(); unittestRE().Match(readSmall(fsys, p)) {
				return p + " (python -m unittest)"
			}
		}
	}
	for _, dir := range []string{"tests", "test", "."} {
		matches, _ := fs.Glob(fsys, path.Join(dir, "test*.py"))
		for _, m := range matches {
			if bytes.Contains(readSmall(fsys, m), []byte("import unittest")) {
				return m + " (import unittest)"
			}
		}
	}
	return ""
}

// makeTarget is the Makefile's test or check target, if it has one.
func makeTarget(fsys fs.FS) string {
	for _, f := range []string{"Makefile", "makefile", "GNUmakefile"} {
		if m := makeTargetRE().FindSubmatch(readSmall(fsys, f)); m != nil {
			return string(m[1])
		}
	}
	return ""
}

func pytestConfig(fsys fs.FS) string {
	if f := firstFile(fsys, "pytest.ini", "conftest.py"); f != "" {
		return f
	}
	for name, marker := range map[string]string{"pyproject.toml": "[tool.pytest", "setup.cfg": "[tool:pytest]", "tox.ini": "[pytest]"} {
		if bytes.Contains(readSmall(fsys, name), []byte(marker)) {
			return name
		}
	}
	if firstFile(fsys, "tests/conftest.py", "test/conftest.py") != "" {
		return "tests/conftest.py"
	}
	return ""
}

// nodeSuite reads package.json's test script and picks the runner's
// machine-readable reporter.
func nodeSuite(fsys fs.FS) (Suite, bool) {
	raw := readSmall(fsys, "package.json")
	if raw == nil {
		return Suite{}, false
	}
	var pkg struct {
		Scripts         map[string]string `json:"scripts"`
		DevDependencies map[string]string `json:"devDependencies"`
		Dependencies    map[string]string `json:"dependencies"`
	}
	if json.Unmarshal(raw, &pkg) != nil {
		return Suite{}, false
	}
	script := pkg.Scripts["test"]
	if script == "" || strings.Contains(script, "no test specified") {
		return Suite{}, false
	}
	dep := func(n string) bool { _, a := pkg.DevDependencies[n]; _, b := pkg.Dependencies[n]; return a || b }
	s := Suite{Name: "node", Why: "package.json (test: " + script + ")"}
	// npx --no-install runs the runner the project installed (npm ci) or
	// fails naming it; plain npx would fetch whatever version the registry
	// serves today, run it, and judge the release by it.
	switch {
	case strings.Contains(script, "jest") || dep("jest"):
		s.Command = []string{"npx", "--no-install", "jest", "--ci", "--reporters=default", "--reporters=jest-junit"}
		s.Env = map[string]string{"JEST_JUNIT_OUTPUT_FILE": "build/readiness/jest.xml", "JEST_JUNIT_REPORT_TEST_SUITE_ERRORS": "true"}
		s.Format, s.Path = "junit", "build/readiness/jest.xml"
		if !dep("jest-junit") {
			s.Note = "jest writes JUnit through jest-junit: npm install --save-dev jest-junit"
		}
	case strings.Contains(script, "vitest") || dep("vitest"):
		s.Command = []string{"npx", "--no-install", "vitest", "run", "--reporter=junit", "--outputFile=build/readiness/vitest.xml"}
		s.Format, s.Path = "junit", "build/readiness/vitest.xml"
	case strings.Contains(script, "mocha") || dep("mocha"):
		s.Command = []string{"npx", "--no-install", "mocha", "--reporter", "tap"}
		s.Format = "tap"
	case strings.Contains(script, "node --test") || strings.Contains(script, "node:test"):
		s.Command = []string{"node", "--test", "--test-reporter=tap"}
		s.Format = "tap"
	default:
		s.Command = []string{"npm", "test", "--silent"}
		s.Format = "tap"
		s.Note = "readiness could not tell which runner `npm test` uses: make it print TAP to stdout, or write JUnit and set report.path"
	}
	return s, true
}
