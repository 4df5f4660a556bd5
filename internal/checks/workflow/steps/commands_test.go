package steps

import (
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/checks/workflow/shell"
)

func TestEffective(t *testing.T) {
	tests := []struct {
		in   string
		name string
		args string
	}{
		{"sudo -E cosign sign x", "cosign", "sign x"},
		{"env COSIGN_YES=true /usr/local/bin/cosign sign x", "cosign", "sign x"},
		{"timeout 10m trivy image x", "trivy", "image x"},
		{"docker run --rm -v /var/run/docker.sock:/var/run/docker.sock aquasec/trivy:0.64.1 image --exit-code 1 x", "trivy", "image --exit-code 1 x"},
		{"docker run --rm ghcr.io/sigstore/cosign/cosign:v2.5.0 sign x", "cosign", "sign x"},
		// The container's command is read as a command (docker run alpine sh -c '… cosign sign …').
		{"docker run --rm alpine echo hi", "echo", "hi"},
		{"docker run --rm alpine", "docker", "run --rm alpine"},
		{"docker run --entrypoint cosign ghcr.io/x/tools:1 sign img", "cosign", "sign img"},
		{"go run github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5 sign img", "cosign", "sign img"},
		{"go run ./cmd/readiness image release x", "readiness", "image release x"},
		{"./dist/readiness_linux_amd64/readiness check", "readiness", "check"},
		{"xargs -I {} cosign sign {}@d", "cosign", "sign {}@d"},
		{"command cosign sign x", "cosign", "sign x"},
		{"command -v goreleaser", "", ""},
		{"which cosign", "", ""},
	}
	for _, tt := range tests {
		name, args, _ := effective(strings.Fields(tt.in), map[string]string{})
		if name != tt.name || strings.Join(args, " ") != tt.args {
			t.Errorf("effective(%q) = %q %q; want %q %q", tt.in, name, strings.Join(args, " "), tt.name, tt.args)
		}
	}
}

func TestSeverities(t *testing.T) {
	if _, gap := trivySeverities("CRITICAL,HIGH", true, "severity"); gap != "" {
		t.Errorf("CRITICAL,HIGH: %s", gap)
	}
	if _, gap := trivySeverities("", false, "severity"); gap != "" {
		t.Errorf("default: %s", gap)
	}
	if _, gap := trivySeverities("CRITICAL", true, "severity"); !strings.Contains(gap, "leaves out HIGH") {
		t.Errorf("CRITICAL: %q", gap)
	}
	if _, gap := trivySeverities("${{ inputs.sev }}", true, "severity"); !strings.Contains(gap, "cannot be evaluated") {
		t.Errorf("expression: %q", gap)
	}
	if _, gap := grypeThreshold("high", "--fail-on"); gap != "" {
		t.Errorf("high: %s", gap)
	}
	if _, gap := grypeThreshold("critical", "--fail-on"); gap == "" {
		t.Error("critical: no gap")
	}
	for _, tt := range []struct {
		v    string
		set  bool
		want bool
	}{{"1", true, true}, {"'1'", true, true}, {"0", true, false}, {"", false, false}, {"${{ inputs.x }}", true, false}, {"one", true, false}} {
		if got, _ := exitCodeBlocking(tt.v, tt.set, "exit-code", "trivy-action"); got != tt.want {
			t.Errorf("exitCodeBlocking(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestStagingTag(t *testing.T) {
	tests := []struct {
		tag  string
		want bool
	}{
		{"1.2.3", false},
		{"latest", false},
		{"sha-abc", true},
		{"${{ github.sha }}", true},
		{"pr-${{ github.event.number }}", true},
		{"${{ github.run_id }}", true},
		// The job's name says nothing about the tag's value.
		{"${{ needs.build-image.outputs.version }}", false},
		{"${{ needs.test.outputs.version }}", false},
		{"${{ jobs.build-test.steps.meta.outputs.version }}", false},
		{"${{ steps.test-meta.outputs.tag }}", false},
		{"${{ needs.build.outputs.staging_tag }}", true},
	}
	for _, tt := range tests {
		if got := stagingTag(tt.tag); got != tt.want {
			t.Errorf("stagingTag(%q) = %v, want %v", tt.tag, got, tt.want)
		}
	}
}

// TestCosignFlagValues: a flag's value is never read as the image.
func TestCosignFlagValues(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"sign --key /tmp/cosign.key ghcr.io/a/b@sha256:1", "ghcr.io/a/b@sha256:1"},
		{"sign -key /tmp/cosign.key ghcr.io/a/b@sha256:1", "ghcr.io/a/b@sha256:1"},
		{"sign --registry-referrers-mode legacy ghcr.io/a/b", "ghcr.io/a/b"},
		{"sign --yes -a run=1 --tlog-upload=false ghcr.io/a/b", "ghcr.io/a/b"},
		{"attest --predicate sbom.json --type spdxjson ghcr.io/a/b", "ghcr.io/a/b"},
	} {
		pos, _ := parseArgs(strings.Fields(tt.in), cosignValueFlags)
		if len(pos) < 2 || pos[1] != tt.want {
			t.Errorf("cosign %s: positionals %q, want the image %s", tt.in, pos, tt.want)
		}
	}
	for _, tt := range []struct {
		args  string
		flags map[string]bool
		want  string
	}{
		{"image --ignore-unfixed --severity HIGH,CRITICAL --exit-code 1 ghcr.io/a/b", trivyValueFlags, "ghcr.io/a/b"},
		{"image --cache-dir /tmp/c -q ghcr.io/a/b", trivyValueFlags, "ghcr.io/a/b"},
		{"--only-fixed --fail-on high ghcr.io/a/b", grypeValueFlags, "ghcr.io/a/b"},
	} {
		pos, _ := parseArgs(strings.Fields(tt.args), tt.flags)
		if len(pos) == 0 || pos[len(pos)-1] != tt.want {
			t.Errorf("%s: positionals %q, want the target %s last", tt.args, pos, tt.want)
		}
	}
}

func TestShellStateAppend(t *testing.T) {
	a := &Interpreter{}
	sc := graph.Scope{Local: map[string]string{}}
	sh := shell.Parse("IMG=ghcr.io/a/\nIMG+=b\nexport TAG=1", true, false)
	for i := range sh.Cmds {
		a.shellState(&jobWalk{Dyn: model.Env{}}, sc, &sh.Cmds[i], func(x string) string { return sc.ResolveShell(x) })
	}
	if sc.Local["IMG"] != "ghcr.io/a/b" || sc.Local["TAG"] != "1" {
		t.Errorf("variables: %v", sc.Local)
	}
}

// The image a readiness release signs is its positional argument, however
// many value flags come first (keyless with a private Sigstore has many).
func TestReadinessReleaseTarget(t *testing.T) {
	args := strings.Fields("image release --keyless --identity-token t.jwt --fulcio-url http://f --oidc-issuer https://i " +
		"--trusted-root tr.json --tlog-upload=false --rekor-url http://r --scan-check s --result r.json --network-timeout 2m ghcr.io/a/b@sha256:0")
	pos, _ := parseArgs(args, readinessValueFlags)
	if strings.Join(pos, " ") != "image release ghcr.io/a/b@sha256:0" {
		t.Errorf("positional args = %q", pos)
	}
}
