package selftest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// heavyPackages are import-path prefixes the default build must not link:
// each once made the release binary tens of MB larger and slower to start
// (issue 17). The readiness-kms build (-tags kms) links them on purpose.
var heavyPackages = []string{
	"k8s.io/",                                         // cosign's pkg/signature, for k8s:// keys
	"gitlab.com/gitlab-org/",                          // gitlab:// keys
	"github.com/google/go-github/",                    // cosign's git providers
	"github.com/sigstore/cosign/v2/cmd/",              // cosign's CLI packages: every option, credential helper, provider
	"github.com/sigstore/cosign/v2/pkg/signature",     // links all of the above
	"github.com/sigstore/sigstore/pkg/signature/kms/", // the KMS providers and their cloud SDKs
	"github.com/aws/aws-sdk-go-v2/service/kms",
	"cloud.google.com/go/kms",
	"github.com/Azure/azure-sdk-for-go/",
	"github.com/hashicorp/vault/",
	"github.com/awslabs/amazon-ecr-credential-helper/",
}

// goList returns the packages the release binary links for linux/amd64.
func goList(t *testing.T, tags string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-tags", tags, "./cmd/readiness")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps -tags %q ./cmd/readiness: %v", tags, err)
	}
	return strings.Fields(string(out))
}

func heavy(pkgs []string) []string {
	var found []string
	for _, p := range pkgs {
		for _, h := range heavyPackages {
			if p == h || strings.HasPrefix(p, h) {
				found = append(found, p)
				break
			}
		}
	}
	return found
}

// TestDefaultBuildLeavesOutHeavyPackages: a new import that drags the
// Kubernetes client, cloud SDKs or cosign's CLI into the default release
// fails here, not at the next size measurement. The kms build must still
// link them, or the list would guard nothing.
func TestDefaultBuildLeavesOutHeavyPackages(t *testing.T) {
	if found := heavy(goList(t, "")); len(found) > 0 {
		t.Errorf("the default build links %d heavy packages, among them %s; import a narrower package, "+
			"or put the feature behind -tags kms (`go mod why -m` names the path)", len(found), strings.Join(found[:min(5, len(found))], ", "))
	}
	kms := heavy(goList(t, "kms"))
	for _, want := range []string{"k8s.io/client-go/kubernetes", "github.com/sigstore/sigstore/pkg/signature/kms/aws"} {
		found := false
		for _, p := range kms {
			found = found || p == want
		}
		if !found {
			t.Errorf("the kms build does not link %s: the readiness-kms flavour lost a key provider", want)
		}
	}
}

// maxReleaseMB is the size limit scripts/cross-build.sh checks (max_mb=):
// one number, read from the script.
func maxReleaseMB(t *testing.T) int64 {
	t.Helper()
	script, err := os.ReadFile(filepath.Join(repoRoot(t), "scripts", "cross-build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^max_mb=(\d+)`).FindSubmatch(script)
	if m == nil {
		t.Fatal("scripts/cross-build.sh has no max_mb= line")
	}
	n, err := strconv.ParseInt(string(m[1]), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// testBinarySize: the binary goreleaser built for this platform is within
// the limit cross-build.sh holds every target to.
func testBinarySize(t *testing.T, rel release) {
	limit := maxReleaseMB(t)
	fi, err := os.Stat(rel.binary)
	if err != nil {
		t.Fatal(err)
	}
	mb := float64(fi.Size()) / 1e6
	t.Logf("release binary %s: %.1f MB (limit %d MB)", filepath.Base(filepath.Dir(rel.binary)), mb, limit)
	if fi.Size() > limit*1_000_000 {
		t.Errorf("the release binary is %.1f MB, over the %d MB limit: find what grew with "+
			"`go tool nm -size -sort size` on an unstripped build, and `go mod why -m`", mb, limit)
	}
}

// initBudget is what one of our packages may allocate while initialising:
// enough for a few small tables, far from a compiled regexp set, a parsed
// rules file or a template (each of which cost 50-200 KB and up to 1 ms
// of every start, `readiness version` included; build them on first use).
const initBudget = 32 << 10

// initExempt are packages allowed over the budget (none now: the ledger's
// rules and DSN pattern are built on first use too).
var initExempt = map[string]bool{}

// TestOwnPackagesInitLittle runs this test binary, which links every
// package the CLI does, with GODEBUG=inittrace=1 and holds each of our
// packages to initBudget bytes allocated at start-up. Bytes, not time:
// a count does not depend on the machine's load.
func TestOwnPackagesInitLittle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// init <package> @<t> ms, <d> ms clock, <n> bytes, <m> allocs
	line := regexp.MustCompile(`(?m)^init (\S+) @\S+ ms, \S+ ms clock, (\d+) bytes, (\d+) allocs$`)
	seen := 0
	for _, m := range line.FindAllStringSubmatch(string(out), -1) {
		pkg := m[1]
		if !strings.HasPrefix(pkg, "github.com/readiness-dev/readiness/") || strings.Contains(pkg, "/testutil/") ||
			strings.HasSuffix(pkg, "/selftest") || strings.HasSuffix(pkg, ".test") {
			continue
		}
		seen++
		n, _ := strconv.Atoi(m[2])
		if n > initBudget && !initExempt[pkg] {
			t.Errorf("%s allocates %d bytes (%s allocs) while initialising, over %d: build package-level "+
				"regexps, rules and templates on first use (sync.OnceValue)", pkg, n, m[3], initBudget)
		}
	}
	if seen == 0 {
		t.Fatalf("no init lines for our packages in:\n%s", out)
	}
}
