package scaffold_test

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/readiness-dev/readiness/internal/catalog"
	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/scaffold"
)

// Whatever the repository holds, the proposal loads strictly and every
// gate it enables accepts its with: block — even when file names are
// crafted to break out of the YAML they are written into.
func TestRenderLoads(t *testing.T) {
	for name, files := range map[string]fstest.MapFS{
		"empty":         {},
		"everything":    {"SECURITY.md": {Data: []byte("see docs/keys/security.asc")}, "docs/keys/security.asc": {}, "old.asc": {}, ".github/workflows/release.yml": {Data: []byte("run: docker push ghcr.io/acme/app:1.0")}, "go.mod": {}, "pytest.ini": {}, "package.json": {Data: []byte(`{"scripts":{"test":"jest"}}`)}, "Dockerfile": {}},
		"hostile names": {"x: y\n- name: evil.asc": {}, "SECURITY.md": {}, ".github/workflows/publish\"#.yml": {}, "package.json": {Data: []byte(`{"scripts":{"test":"mocha \"a: b\""}}`)}},
		"vendored keys": {"node_modules/pkg/key.asc": {}, "vendor/x/y.asc": {}},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := scaffold.Inspect(files)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range p.Keys {
				if strings.HasPrefix(k, "node_modules/") || strings.HasPrefix(k, "vendor/") {
					t.Errorf("took a dependency's key %s", k)
				}
			}
			out := scaffold.Render(p, time.Now())
			gates := catalog.Gates()
			cfg, err := config.Parse("readiness.yaml", out, config.LoadOptions{Now: time.Now(), KnownTypes: catalog.Types(gates)})
			if err != nil {
				t.Fatalf("proposal does not load: %v\n%s", err, out)
			}
			for _, spec := range cfg.Checks {
				g, _ := catalog.Find(gates, spec.Type)
				if _, err := g.New(checks.Env{Dir: t.TempDir(), Now: time.Now}, spec); err != nil {
					t.Errorf("gate %s rejects its with: block: %v\n%s", spec.Name, err, out)
				}
			}
			if name == "hostile names" && len(cfg.Checks) != 3 { // security-key, workflow, tests: nothing injected
				t.Errorf("a file name added checks: %d\n%s", len(cfg.Checks), out)
			}
		})
	}
}

func TestInspectEverything(t *testing.T) {
	p, _ := scaffold.Inspect(fstest.MapFS{
		"SECURITY.md": {Data: []byte("key: docs/keys/security.asc")}, "a.asc": {}, "docs/keys/security.asc": {},
		".github/workflows/ci.yml": {Data: []byte("run: go test")}, ".github/workflows/release.yml": {Data: []byte("jobs:\n  r:\n    steps:\n      - run: docker push ghcr.io/acme/app:1.0\n")},
		"go.mod": {}, "pyproject.toml": {Data: []byte("[tool.pytest.ini_options]\n")},
	})
	if len(p.Keys) != 2 || p.Keys[0] != "docs/keys/security.asc" {
		t.Errorf("keys %v: want the one SECURITY.md names first", p.Keys)
	}
	if len(p.Workflows) != 1 || p.Workflows[0] != ".github/workflows/release.yml" {
		t.Errorf("release workflows %v", p.Workflows)
	}
	if len(p.Suites) != 2 || p.Suites[0].Name != "go" || p.Suites[1].Name != "pytest" {
		t.Errorf("suites %+v", p.Suites)
	}
	if p.Image != "ghcr.io/acme/app:1.0" {
		t.Errorf("image %q", p.Image)
	}
}

// TestWorkflowProposedOnlyForReleases: init proposed the workflow gate for
// any workflow, a test-only CI on a release branch included.
func TestWorkflowProposedOnlyForReleases(t *testing.T) {
	for _, tc := range []struct {
		name, file, body string
		want             bool
	}{
		{"test-only CI", "ci.yml", "on:\n  push:\n    branches: [main, 'release/**']\n  pull_request:\njobs:\n  test:\n    name: Test before release\n    steps:\n      - uses: actions/checkout@v4\n      - uses: EnricoMi/publish-unit-test-result-action@v2\n      - run: go test -race ./... -run TestRelease\n", false},
		{"lint only", "lint.yaml", "on: [pull_request]\njobs:\n  lint:\n    steps:\n      - run: golangci-lint run # sign-off checked elsewhere\n", false},
		{"goreleaser", "ci.yml", "on: push\njobs:\n  r:\n    steps:\n      - run: goreleaser release --clean\n", true},
		{"cosign", "build.yml", "on: push\njobs:\n  r:\n    steps:\n      - run: cosign sign --yes $IMAGE\n", true},
		{"build-push action", "build.yml", "on: push\njobs:\n  r:\n    steps:\n      - uses: docker/build-push-action@v6\n", true},
		{"release event", "build.yml", "on:\n  release:\n    types: [published]\njobs: {}\n", true},
		{"tag push", "build.yml", "on:\n  push:\n    tags: ['v*']\njobs: {}\n", true},
		{"named release", "release.yml", "on: push\njobs: {}\n", true},
		{"npm publish", "ci.yml", "on: push\njobs:\n  r:\n    steps:\n      - run: |\n          npm ci\n          npm publish --access public\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := scaffold.Inspect(fstest.MapFS{".github/workflows/" + tc.file: {Data: []byte(tc.body)}, "go.mod": {}})
			if err != nil {
				t.Fatal(err)
			}
			out := string(scaffold.Render(p, time.Now()))
			if got := strings.Contains(out, "\n  - name: workflow\n"); got != tc.want {
				t.Errorf("workflow gate proposed: %v, want %v\n%s", got, tc.want, out)
			}
		})
	}
}

// TestWaiverDateRelative: the commented waiver expired on a fixed date
// (2026-12-31); uncommented, it must load, neither expired nor past the
// default 90-day horizon, whatever the day.
func TestWaiverDateRelative(t *testing.T) {
	for _, now := range []time.Time{time.Now(), time.Date(2027, 6, 1, 23, 59, 0, 0, time.UTC), time.Date(2031, 2, 28, 0, 0, 0, 0, time.UTC)} {
		t.Run(now.Format("2006-01-02"), func(t *testing.T) {
			out := string(scaffold.Render(scaffold.Plan{SecurityMD: "SECURITY.md"}, now))
			i := strings.Index(out, "# waivers:")
			if i < 0 {
				t.Fatalf("no commented waiver:\n%s", out)
			}
			uncommented := out[:i] + strings.NewReplacer("# waivers:", "waivers:", "#   ", "  ", "#     ", "    ").Replace(out[i:])
			cfg, err := config.Parse("readiness.yaml", []byte(uncommented), config.LoadOptions{Now: now, KnownTypes: catalog.Types(catalog.Gates())})
			if err != nil {
				t.Fatalf("uncommented waiver does not load: %v\n%s", err, uncommented)
			}
			if len(cfg.Waivers) != 1 {
				t.Fatalf("waivers %+v", cfg.Waivers)
			}
			want := now.UTC().AddDate(0, 0, 30).Format("2006-01-02")
			if !strings.Contains(out, "expires: "+want) {
				t.Errorf("waiver does not expire on %s:\n%s", want, out[i:])
			}
		})
	}
}

// TestKeyGateOnlyWhenPromised: a disclosure policy that promises no key
// gets no security-key gate (it made init's first check a critical
// KEY-MISSING on repositories that never offered encryption), and says why.
func TestKeyGateOnlyWhenPromised(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		want  bool
	}{
		{"policy without a key", fstest.MapFS{"SECURITY.md": {Data: []byte("# Security\n\nMail security@acme.io or use GitHub's private reporting.\n")}, "go.mod": {}}, false},
		{"policy promising encryption", fstest.MapFS{"SECURITY.md": {Data: []byte("Mail security@acme.io, PGP-encrypted.\n")}, "go.mod": {}}, true},
		{"policy naming a fingerprint", fstest.MapFS{"SECURITY.md": {Data: []byte("Key 0123456789ABCDEF0123456789ABCDEF01234567\n")}, "go.mod": {}}, true},
		{"security.txt with Encryption", fstest.MapFS{".well-known/security.txt": {Data: []byte("Contact: mailto:s@acme.io\nEncryption: https://acme.io/pgp.txt\n")}, "go.mod": {}}, true},
		{"a key file", fstest.MapFS{"SECURITY.md": {Data: []byte("Mail us.\n")}, "keys/security.asc": {}, "go.mod": {}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := scaffold.Inspect(tc.files)
			if err != nil {
				t.Fatal(err)
			}
			out := string(scaffold.Render(p, time.Now()))
			if got := strings.Contains(out, "- name: security-key"); got != tc.want {
				t.Errorf("security-key proposed: %v, want %v\n%s", got, tc.want, out)
			}
			if !tc.want && !strings.Contains(out, "promises no OpenPGP key") {
				t.Errorf("the proposal does not say why there is no security-key gate:\n%s", out)
			}
			if got := strings.Contains(scaffold.Describe(p), "security-key"); got != tc.want {
				t.Errorf("Describe %q", scaffold.Describe(p))
			}
		})
	}
}

// TestSecurityTxtNamesTheKey: security.txt's Encryption: URL on the
// project's site maps to the file in the repository's web root; init
// proposes that file as the key (issue 27, 2).
func TestSecurityTxtNamesTheKey(t *testing.T) {
	p, err := scaffold.Inspect(fstest.MapFS{
		"docs/.well-known/security.txt":          {Data: []byte("Contact: mailto:security@acme.io\nEncryption: https://acme.io/.well-known/pgp-key.txt\n")},
		"docs/.well-known/pgp-key.txt":           {Data: []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")},
		"node_modules/x/.well-known/pgp-key.txt": {},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Keys) == 0 || p.Keys[0] != "docs/.well-known/pgp-key.txt" {
		t.Fatalf("keys %v, want docs/.well-known/pgp-key.txt first", p.Keys)
	}
	if out := string(scaffold.Render(p, time.Now())); !strings.Contains(out, `key: "docs/.well-known/pgp-key.txt"`) && !strings.Contains(out, "key: docs/.well-known/pgp-key.txt") {
		t.Errorf("the proposal does not check that key:\n%s", out)
	}
}

// TestGuessReleaseImage: the image is what a release workflow pushes, never
// a test job's service container; a Dockerfile below the root is found;
// a placeholder is never called a guess (issue 27, 5).
func TestGuessReleaseImage(t *testing.T) {
	wf := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	for _, tc := range []struct {
		name        string
		files       fstest.MapFS
		image, from string
	}{
		{"build-push-action tags", fstest.MapFS{".github/workflows/release.yml": wf("on: {push: {tags: ['v*']}}\nenv:\n  IMAGE: ghcr.io/acme/api\njobs:\n  it:\n    services:\n      db: {image: docker.io/library/postgres:16}\n    steps: [{run: go test}]\n  push:\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          push: true\n          tags: |\n            ${{ env.IMAGE }}:latest\n            ${{ env.IMAGE }}:${{ github.ref_name }}\n")},
			"ghcr.io/acme/api:latest", ".github/workflows/release.yml"},
		{"docker push with a job env", fstest.MapFS{".github/workflows/publish.yml": wf("on: {release: {}}\njobs:\n  p:\n    env: {REPO: quay.io/acme/web}\n    steps:\n      - run: |\n          docker build -t $REPO:1 .\n          docker push $REPO:1\n")},
			"quay.io/acme/web:1", ".github/workflows/publish.yml"},
		{"ko", fstest.MapFS{".github/workflows/release.yml": wf("on: {push: {tags: ['v*']}}\njobs:\n  k:\n    env: {KO_DOCKER_REPO: ghcr.io/acme/ctl}\n    steps:\n      - run: ko build ./cmd/ctl --bare\n")},
			"ghcr.io/acme/ctl:latest", ".github/workflows/release.yml"},
		{"goreleaser dockers", fstest.MapFS{".goreleaser.yaml": wf("dockers:\n  - image_templates: ['ghcr.io/acme/tool:{{ .Version }}']\n")},
			"ghcr.io/acme/tool:latest", ".goreleaser.yaml"},
		{"only a test job's service", fstest.MapFS{".github/workflows/release.yml": wf("on: {push: {tags: ['v*']}}\njobs:\n  it:\n    services:\n      db: {image: docker.io/library/postgres:16}\n    steps: [{run: go test}]\n"), "deploy/docker/Dockerfile": {}},
			"", "deploy/docker/Dockerfile"},
		{"nothing", fstest.MapFS{"go.mod": {}}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := scaffold.Inspect(tc.files)
			if err != nil {
				t.Fatal(err)
			}
			if p.Image != tc.image || p.ImageSource != tc.from {
				t.Errorf("image %q from %q, want %q from %q", p.Image, p.ImageSource, tc.image, tc.from)
			}
			if out := string(scaffold.Render(p, time.Now())); strings.Contains(out, "guessed") {
				t.Errorf("the proposal calls the image guessed:\n%s", out)
			}
		})
	}
}

// TestNodeRunnersNeverFetched: the proposed Node suite runs the runner the
// project installed, never one npx fetches from the registry at check time
// (whatever version it serves that day would judge the release).
func TestNodeRunnersNeverFetched(t *testing.T) {
	for _, pkg := range []string{
		`{"scripts":{"test":"vitest run"}}`,
		`{"scripts":{"test":"jest"},"devDependencies":{"jest-junit":"^16"}}`,
		`{"scripts":{"test":"mocha"}}`,
		`{"scripts":{"test":"x"},"devDependencies":{"vitest":"^3"}}`,
	} {
		p, err := scaffold.Inspect(fstest.MapFS{"package.json": {Data: []byte(pkg)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Suites) != 1 {
			t.Fatalf("%s: suites %+v, want one", pkg, p.Suites)
		}
		cmd := p.Suites[0].Command
		if cmd[0] == "npx" && !slices.Contains(cmd, "--no-install") {
			t.Errorf("%s: %v may fetch its runner from the registry", pkg, cmd)
		}
	}
}
