package selftest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/testutil/sigstoretest"
)

// The release a user downloads, produced here the way release.yml produces
// it (goreleaser with this repository's goreleaser.yaml, which signs
// checksums.txt keyless with cosign), except: a snapshot for this machine's
// platform only, no SBOM, and a private Sigstore on loopback in place of
// the public one (sigstoretest.StartGitHub: the real Fulcio, issuing the
// certificate GitHub's release workflow at the tag would get, and no
// transparency log). A cosign wrapper adds only where Fulcio is and the
// token to present; goreleaser's own signing arguments are used unchanged.
type release struct {
	dir     string // the release's files, as uploaded
	version string // its tag
	archive string // this platform's archive name
	binary  string // this platform's binary, as goreleaser built it
	sg      *sigstoretest.Sigstore
	trust   []string // the private Sigstore's roots, as cosign reads them from the environment
}

// releaseWorkflow is the job that signs a release: release.yml at the tag.
var releaseWorkflow = sigstoretest.GitHubWorkflow{
	Repository: "readiness-dev/readiness", Workflow: ".github/workflows/release.yml", Ref: "refs/tags/v" + releaseVersion,
}

const releaseVersion = "9.9.9"

func buildRelease(t *testing.T) release {
	t.Helper()
	goreleaser := need(t, "goreleaser")
	cosign := need(t, "cosign")
	if runtime.GOOS == "windows" {
		t.Skip("SKIPPED: the release test drives bash scripts")
	}
	root := repoRoot(t)
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	t.Cleanup(cancel)

	// The release workflow's keyless signature, from a private Sigstore.
	sg := sigstoretest.StartGitHub(t)
	trust := sg.LegacyTrustEnv(t)
	token := sigstoretest.TokenFile(t, sg.WorkflowToken(t, releaseWorkflow))
	wrapDir := filepath.Join(tmp, "wrap")
	if err := os.Mkdir(wrapDir, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\n[ \"$1\" = sign-blob ] || exec " + cosign + " \"$@\"\nshift\n" +
		"exec " + cosign + " sign-blob --fulcio-url " + sg.FulcioURL + " --oidc-issuer " + sg.Issuer +
		" --identity-token " + token + " --tlog-upload=false \"$@\"\n"
	if err := os.WriteFile(filepath.Join(wrapDir, "cosign"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}

	// goreleaser.yaml as released, narrowed to this platform, into tmp.
	data, err := os.ReadFile(filepath.Join(root, "goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(tmp, "dist")
	cfg["dist"] = dist
	cfg["snapshot"] = map[string]any{"version_template": releaseVersion}
	// The default flavour only: readiness-kms differs by a build tag.
	cfg["builds"] = keepID(t, cfg["builds"], "readiness")
	cfg["archives"] = keepID(t, cfg["archives"], "readiness")
	for _, b := range cfg["builds"].([]any) {
		b.(map[string]any)["goos"] = []string{runtime.GOOS}
		b.(map[string]any)["goarch"] = []string{runtime.GOARCH}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(tmp, "goreleaser.yaml")
	if err := os.WriteFile(cfgPath, out, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, root, append([]string{"PATH=" + wrapDir + string(os.PathListSeparator) + os.Getenv("PATH")}, trust...),
		goreleaser, "release", "--snapshot", "--clean", "--skip=sbom,publish,announce,before", "--config", cfgPath)

	rel := release{dir: filepath.Join(tmp, "release"), version: "v" + releaseVersion, sg: sg, trust: trust,
		archive: "readiness_" + releaseVersion + "_" + runtime.GOOS + "_" + runtime.GOARCH + ".tar.gz"}
	bins, err := filepath.Glob(filepath.Join(dist, "readiness_"+runtime.GOOS+"_"+runtime.GOARCH+"*", "readiness*"))
	if err != nil || len(bins) != 1 {
		t.Fatalf("goreleaser built %v (%v), want one binary for %s/%s", bins, err, runtime.GOOS, runtime.GOARCH)
	}
	rel.binary = bins[0]
	// Upload what a GitHub release would carry: the archives, checksums.txt
	// and the signature artifacts goreleaser declares.
	if err := os.MkdirAll(rel.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{rel.archive, "checksums.txt", "checksums.txt.sigstore.json"} {
		b, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Fatalf("the release lacks %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(rel.dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return rel
}

func keepID(t *testing.T, list any, id string) []any {
	t.Helper()
	var kept []any
	for _, e := range list.([]any) {
		if e.(map[string]any)["id"] == id {
			kept = append(kept, e)
		}
	}
	if len(kept) != 1 {
		t.Fatalf("goreleaser.yaml has %d entries with id %q, want 1", len(kept), id)
	}
	return kept
}

func run(t *testing.T, ctx context.Context, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	out, err := runErr(ctx, dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}

// readmeVerifyCommands are the shell commands of README.md's "Verify a
// release" block, continuation lines joined.
func readmeVerifyCommands(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Verify a release\n.*?```sh\n(.*?)```").FindSubmatch(data)
	if m == nil {
		t.Fatal("README.md has no ```sh block under \"## Verify a release\"")
	}
	joined := strings.ReplaceAll(string(m[1]), "\\\n", " ")
	var cmds []string
	for _, l := range strings.Split(joined, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			cmds = append(cmds, l)
		}
	}
	return cmds
}

// keyless is a README command that verifies the release workflow's
// certificate as written, pointed at the private Sigstore: its issuer for
// GitHub's, and no transparency log to require. The identity flags stay
// exactly as the README writes them.
func keyless(t *testing.T, cmd string, sg *sigstoretest.Sigstore) string {
	t.Helper()
	const github = "--certificate-oidc-issuer https://token.actions.githubusercontent.com"
	if !strings.Contains(cmd, github) {
		t.Fatalf("README's command does not require GitHub's OIDC issuer (%s): %s", github, cmd)
	}
	return strings.Replace(cmd, github, "--certificate-oidc-issuer "+sg.Issuer, 1) + " --insecure-ignore-tlog=true"
}

// TestRelease builds the release once and checks it as users do: README's
// verification commands, and the Action's install script.
func TestRelease(t *testing.T) {
	rel := buildRelease(t)
	t.Run("README verify a release", func(t *testing.T) { testReadmeVerify(t, rel) })
	t.Run("Action install script", func(t *testing.T) { testInstallRelease(t, rel) })
	t.Run("binary size", func(t *testing.T) { testBinarySize(t, rel) })
}

func testReadmeVerify(t *testing.T, rel release) {
	cosign := need(t, "cosign")
	ctx := context.Background()
	cmds := readmeVerifyCommands(t)
	var verifyBlob, sha string
	for _, c := range cmds {
		switch {
		case strings.HasPrefix(c, "cosign verify-blob "):
			verifyBlob = keyless(t, c, rel.sg)
		case strings.HasPrefix(c, "sha256sum "):
			sha = c
		}
	}
	if verifyBlob == "" || sha == "" {
		t.Fatalf("README's Verify a release lacks the cosign verify-blob or the sha256sum command: %q", cmds)
	}
	if !strings.Contains(verifyBlob, "--bundle checksums.txt.sigstore.json") {
		t.Fatalf("README verifies %q, not the bundle goreleaser publishes (checksums.txt.sigstore.json)", verifyBlob)
	}
	sh := func(dir, c string) ([]byte, error) {
		return runErr(ctx, dir, append([]string{"PATH=" + filepath.Dir(cosign) + string(os.PathListSeparator) + os.Getenv("PATH")}, rel.trust...), "sh", "-c", c)
	}
	if out, err := sh(rel.dir, verifyBlob); err != nil {
		t.Fatalf("README's cosign verify-blob on the release: %v\n%s", err, out)
	}
	if out, err := sh(rel.dir, sha); err != nil {
		t.Fatalf("README's sha256sum on the release: %v\n%s", err, out)
	}

	// Tampering is caught: an archive altered, or checksums.txt altered to
	// match an altered archive.
	tampered := func(name string, edit func([]byte) []byte) string {
		dir := t.TempDir()
		for _, n := range []string{rel.archive, "checksums.txt", "checksums.txt.sigstore.json"} {
			b, err := os.ReadFile(filepath.Join(rel.dir, n))
			if err != nil {
				t.Fatal(err)
			}
			if n == name {
				b = edit(b)
			}
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	flip := func(b []byte) []byte { b = bytes.Clone(b); b[len(b)/2] ^= 1; return b }
	if out, err := sh(tampered(rel.archive, flip), sha); err == nil {
		t.Errorf("sha256sum accepted an altered archive:\n%s", out)
	}
	reSum := func(b []byte) []byte { return append(bytes.Clone(b), []byte("0000  evil.tar.gz\n")...) }
	if out, err := sh(tampered("checksums.txt", reSum), verifyBlob); err == nil {
		t.Errorf("cosign verify-blob accepted an altered checksums.txt:\n%s", out)
	}
	// Signed by the same Sigstore, but not by the release workflow at a tag.
	for _, w := range []sigstoretest.GitHubWorkflow{
		{Repository: "mallory/readiness", Workflow: ".github/workflows/release.yml", Ref: releaseWorkflow.Ref},
		{Repository: releaseWorkflow.Repository, Workflow: ".github/workflows/ci.yml", Ref: releaseWorkflow.Ref},
		{Repository: releaseWorkflow.Repository, Workflow: releaseWorkflow.Workflow, Ref: "refs/heads/main"},
	} {
		bundle := otherWorkflowBundle(t, rel, w)
		if out, err := sh(tampered("checksums.txt.sigstore.json", func([]byte) []byte { return bundle }), verifyBlob); err == nil {
			t.Errorf("README's verification accepted a signature by %s:\n%s", w.Identity(), out)
		}
	}
}

// otherWorkflowBundle signs the release's checksums.txt as workflow w, on
// the release's own private Sigstore.
func otherWorkflowBundle(t *testing.T, rel release, w sigstoretest.GitHubWorkflow) []byte {
	t.Helper()
	cosign := need(t, "cosign")
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.json")
	run(t, context.Background(), dir, rel.trust, cosign, "sign-blob", "--yes", "--fulcio-url", rel.sg.FulcioURL,
		"--oidc-issuer", rel.sg.Issuer, "--identity-token", sigstoretest.TokenFile(t, rel.sg.WorkflowToken(t, w)),
		"--tlog-upload=false", "--bundle", bundle, filepath.Join(rel.dir, "checksums.txt"))
	b, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testInstallRelease runs the Action's install script against a local
// HTTP server serving the release, then serving it altered.
func testInstallRelease(t *testing.T, rel release) {
	cosign := need(t, "cosign")
	root := repoRoot(t)
	ctx := context.Background()

	// A bundle that verifies, but was signed by another repository's
	// release workflow.
	otherSig := otherWorkflowBundle(t, rel, sigstoretest.GitHubWorkflow{
		Repository: "mallory/readiness", Workflow: releaseWorkflow.Workflow, Ref: releaseWorkflow.Ref})
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(rel.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sums := read("checksums.txt")
	archive := read(rel.archive)
	evil := bytes.Clone(archive)
	evil[len(evil)/2] ^= 1

	tests := []struct {
		name    string
		files   map[string][]byte // replaced files
		version string
		wantErr string // "" means installed
	}{
		{name: "good release", version: rel.version},
		{name: "archive altered (bad checksum)", files: map[string][]byte{rel.archive: evil}, version: rel.version,
			wantErr: "refusing to install"},
		{name: "bundle by another repository's workflow", files: map[string][]byte{"checksums.txt.sigstore.json": otherSig},
			version: rel.version, wantErr: "does not verify"},
		{name: "checksums.txt re-made for an altered archive", version: rel.version, wantErr: "does not verify",
			files: map[string][]byte{rel.archive: evil, "checksums.txt": bytes.Replace(sums,
				[]byte(sha256hex(archive)), []byte(sha256hex(evil)), 1)}},
		{name: "no bundle", files: map[string][]byte{"checksums.txt.sigstore.json": nil}, version: rel.version,
			wantErr: "download"},
		{name: "unpinned version", version: "latest", wantErr: "not a release tag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				name, ok := strings.CutPrefix(r.URL.Path, "/"+rel.version+"/")
				if !ok {
					http.NotFound(w, r)
					return
				}
				b, replaced := tc.files[name]
				if !replaced {
					var err error
					if b, err = os.ReadFile(filepath.Join(rel.dir, filepath.Base(name))); err != nil {
						http.NotFound(w, r)
						return
					}
				} else if b == nil {
					http.NotFound(w, r)
					return
				}
				w.Write(b)
			}))
			defer srv.Close()
			dest := filepath.Join(t.TempDir(), "bin")
			out, err := runErr(ctx, root, append([]string{
				"VERSION=" + tc.version, "DEST=" + dest,
				"READINESS_RELEASE_URL=" + srv.URL, "READINESS_PRIVATE_SIGSTORE_ISSUER=" + rel.sg.Issuer,
				"PATH=" + filepath.Dir(cosign) + string(os.PathListSeparator) + os.Getenv("PATH"),
			}, rel.trust...), "bash", "scripts/install-release.sh")
			_, statErr := os.Stat(filepath.Join(dest, "readiness"))
			if tc.wantErr == "" {
				if err != nil || statErr != nil {
					t.Fatalf("install: %v, binary: %v\n%s", err, statErr, out)
				}
				got := run(t, ctx, root, nil, filepath.Join(dest, "readiness"), "version")
				if !strings.Contains(string(got), releaseVersion) {
					t.Errorf("installed binary reports %q, want %s", got, releaseVersion)
				}
				return
			}
			if err == nil || !strings.Contains(string(out), tc.wantErr) {
				t.Errorf("install: %v, want a failure saying %q\n%s", err, tc.wantErr, out)
			}
			if statErr == nil {
				t.Errorf("a binary was installed although the release did not verify")
			}
		})
	}
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestCrossBuildCoversEveryTarget: scripts/cross-build.sh (run by CI)
// builds exactly the targets goreleaser.yaml releases.
func TestCrossBuildCoversEveryTarget(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Builds []struct {
			Goos   []string `yaml:"goos"`
			Goarch []string `yaml:"goarch"`
		} `yaml:"builds"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(root, "scripts", "cross-build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`targets=\(([a-z0-9/ ]+)\)`).FindSubmatch(script)
	if m == nil {
		t.Fatal("scripts/cross-build.sh has no default targets=(...) list")
	}
	have := map[string]bool{}
	for _, f := range strings.Fields(string(m[1])) {
		have[f] = true
	}
	want := map[string]bool{}
	for _, b := range cfg.Builds {
		for _, goos := range b.Goos {
			for _, arch := range b.Goarch {
				want[goos+"/"+arch] = true
			}
		}
	}
	for tgt := range want {
		if !have[tgt] {
			t.Errorf("goreleaser.yaml releases %s, but scripts/cross-build.sh does not build it", tgt)
		}
	}
	for tgt := range have {
		if !want[tgt] {
			t.Errorf("scripts/cross-build.sh builds %s, which goreleaser.yaml does not release", tgt)
		}
	}
}
