package workflow

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cmdWords renders each command of a script as its words joined by
// spaces, followed by the operator after it.
func cmdWords(sh shScript) []string {
	var out []string
	for _, c := range sh.Cmds {
		s := strings.Join(words(c.Words), " ")
		for _, a := range c.Assigns {
			s = a.Name + "=" + a.Value + " " + s
		}
		out = append(out, strings.TrimSpace(s)+" ["+strings.ReplaceAll(c.Op, "\n", "nl")+"]")
	}
	return out
}

func TestParseShell(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"continuations", "trivy image \\\n  --exit-code 1 \\\n  img:1\necho done", []string{"trivy image --exit-code 1 img:1 [nl]", "echo done []"}},
		{"operators", "a && b || c; d | e & f", []string{"a [&&]", "b [||]", "c [;]", "d [|]", "e [&]", "f []"}},
		{"quotes", `cosign sign "${REF}@${DIGEST}" 'lit $X' "a \"b\""`, []string{`cosign sign ${REF}@${DIGEST} lit $X a "b" []`}},
		{"expressions kept whole", "cosign sign ${{ env.IMAGE }}@${{ steps.build.outputs.digest }}", []string{"cosign sign ${{ env.IMAGE }}@${{ steps.build.outputs.digest }} []"}},
		{"command substitution", `d="$(crane digest "$IMG" | tr -d ' ')"; cosign sign "$d"`, []string{`d=$(crane digest "$IMG" | tr -d ' ') [;]`, "cosign sign $d []"}},
		{"comments", "# cosign sign x\necho a # cosign sign y\n", []string{"[nl]", "echo a [nl]"}[1:]},
		{"heredoc body is not commands", "cat <<EOF > notes.md\ncosign sign not-a-command\nEOF\necho after", []string{"cat [nl]", "echo after []"}},
		{"newline after &&", "trivy image x &&\n  cosign sign x", []string{"trivy image x [&&]", "cosign sign x []"}},
		{"if block", "if ! trivy image x; then\n  exit 1\nfi", []string{"trivy image x [;]", "exit 1 [nl]"}},
		{"redirects", "echo \"IMAGE=ghcr.io/a\" >> \"$GITHUB_ENV\" 2>&1", []string{"echo IMAGE=ghcr.io/a []"}},
		{"for loop", "for t in $TAGS; do cosign sign \"$t\"; done", []string{"$TAGS [;]", "cosign sign $t [;]"}},
		{"append assignment", "images+=\"a \"", []string{"images+=a []"}},
		{"function", "sign() {\n  cosign sign \"$1\"\n}\nsign img", []string{"cosign sign $1 [nl]", "sign img []"}},
		{"unterminated quote", "echo \"never closed", []string{"echo never closed []"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cmdWords(parseShell(tt.src, true, false))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseShellLines(t *testing.T) {
	sh := parseShell("set -e\n\ntrivy image \\\n  --exit-code 1 x\n\"quoted\nacross\" lines\ncosign sign x\n", true, false)
	var got []int
	for _, c := range sh.Cmds {
		got = append(got, c.Line)
	}
	if diff := cmp.Diff([]int{0, 2, 4, 6}, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

// TestShellStops checks whether a failing first trivy command stops the script.
func TestShellStops(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		errexit  bool
		pipefail bool
		want     bool
		why      string
	}{
		{"plain", "trivy image x\ncosign sign x", true, false, true, ""},
		{"or true", "trivy image x || true\ncosign sign x", true, false, false, "|| true"},
		{"or exit", "trivy image x || exit 1\ncosign sign x", true, false, true, ""},
		{"or bare exit", "trivy image x || exit\ncosign sign x", true, false, true, ""},
		{"or group exit", "trivy image x || { echo failed >&2; exit 2; }\ncosign sign x", true, false, true, ""},
		{"or group no exit", "trivy image x || { echo failed >&2; }\ncosign sign x", true, false, false, "|| echo failed"},
		{"and list not last", "trivy image x && echo ok\necho more", true, false, false, "&&"},
		{"and list last", "echo start\ntrivy image x && echo ok", true, false, true, ""},
		{"set +e", "set +e\ntrivy image x\necho done", true, false, false, "errexit is off"},
		{"set +e last command", "set +e\ntrivy image x", true, false, true, ""},
		{"set +e rc checked", "set +e\ntrivy image x\nrc=$?\nset -e\nif [ \"$rc\" -ne 0 ]; then exit \"$rc\"; fi", true, false, true, ""},
		{"set +e exit status", "set +e\ntrivy image x\nexit $?", true, false, true, ""},
		{"set +e echo status", "set +e\ntrivy image x\necho \"status $?\"", true, false, false, "errexit is off"},
		{"no errexit shell", "trivy image x\necho done", false, false, false, "errexit is off"},
		{"set -e restores", "set +e\nset -euo pipefail\ntrivy image x | tee out\necho done", true, false, true, ""},
		{"pipe no pipefail", "trivy image x | tee out\necho done", true, false, false, "piped into `tee out`"},
		{"pipe pipefail", "trivy image x | tee out\necho done", true, true, true, ""},
		{"set -o pipefail", "set -o pipefail\ntrivy image x | tee out", true, false, true, ""},
		{"background", "trivy image x &\nwait", true, false, false, "background"},
		{"negated", "! trivy image x\necho done", true, false, false, "negated"},
		{"if exits", "if ! trivy image x; then\n  echo vulnerable\n  exit 1\nfi\necho ok", true, false, true, ""},
		{"if without exit", "if trivy image x; then\n  echo clean\nfi\necho ok", true, false, false, "condition of an if"},
		{"if else exit", "if trivy image x; then echo clean; else exit 1; fi", true, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh := parseShell(tt.src, tt.errexit, tt.pipefail)
			ci := -1
			for i, c := range sh.Cmds {
				if len(c.Words) > 0 && c.Words[0].Text == "trivy" {
					ci = i
					break
				}
			}
			if ci < 0 {
				t.Fatalf("no trivy command in %q: %v", tt.src, cmdWords(sh))
			}
			got, why := shellStops(&sh, ci)
			if got != tt.want {
				t.Fatalf("shellStops = %v (%s), want %v", got, why, tt.want)
			}
			if !strings.Contains(why, tt.why) {
				t.Errorf("reason %q does not mention %q", why, tt.why)
			}
		})
	}
}

func TestShellOptions(t *testing.T) {
	tests := []struct {
		shell             string
		errexit, pipefail bool
	}{
		{"", true, false},
		{"bash", true, true},
		{"sh", true, false},
		{"pwsh", false, false},
		{"bash -x {0}", false, false},
		{"bash -eo pipefail {0}", true, true},
		{"bash -e -o pipefail {0}", true, true},
		{"/bin/sh -e {0}", true, false},
	}
	for _, tt := range tests {
		e, p, _ := shellOptions(tt.shell)
		if e != tt.errexit || p != tt.pipefail {
			t.Errorf("shellOptions(%q) = %v, %v; want %v, %v", tt.shell, e, p, tt.errexit, tt.pipefail)
		}
	}
}

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
		{"docker run --rm alpine echo hi", "docker", "run --rm alpine echo hi"},
		{"go run ./cmd/readiness image release x", "readiness", "image release x"},
		{"./dist/readiness_linux_amd64/readiness check", "readiness", "check"},
		{"xargs -I {} cosign sign {}@d", "cosign", "sign {}@d"},
	}
	for _, tt := range tests {
		name, args, _ := effective(strings.Fields(tt.in), map[string]string{})
		if name != tt.name || strings.Join(args, " ") != tt.args {
			t.Errorf("effective(%q) = %q %q; want %q %q", tt.in, name, strings.Join(args, " "), tt.name, tt.args)
		}
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in   string
		want imageRef
	}{
		{"ghcr.io/acme/api:1.2", imageRef{Repo: "ghcr.io/acme/api", Tag: "1.2"}},
		{"localhost:5000/api@sha256:abc", imageRef{Repo: "localhost:5000/api", Digest: "sha256:abc"}},
		{"docker.io/library/alpine:3", imageRef{Repo: "alpine", Tag: "3"}},
		{"${{ env.IMAGE }}:${{ github.sha }}", imageRef{Repo: "${{ env.IMAGE }}", Tag: "${{ github.sha }}"}},
		{"${{ format('{0}:{1}', a, b) }}@${{ steps.b.outputs.digest }}", imageRef{Repo: "${{ format('{0}:{1}', a, b) }}", Digest: "${{ steps.b.outputs.digest }}"}},
		{"registry:ghcr.io/a/b:t", imageRef{Repo: "ghcr.io/a/b", Tag: "t"}},
	}
	for _, tt := range tests {
		if got := parseRef(tt.in); got != tt.want {
			t.Errorf("parseRef(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestRunsAfterFailure(t *testing.T) {
	tests := []struct {
		cond  string
		gates []string
		want  bool
	}{
		{"", nil, false},
		{"github.event_name == 'push'", nil, false},
		{"always()", nil, true},
		{"${{ !cancelled() }}", nil, true},
		{"failure()", nil, true},
		{"success()", nil, false},
		{"always() && needs.scan.result == 'success'", []string{"needs.scan.result"}, false},
		{"always() && needs.build.result == 'success'", []string{"needs.scan.result"}, true},
		{"${{ always() && !contains(needs.*.result, 'failure') }}", nil, false},
		{"always() && steps.trivy.outcome == 'success'", []string{"steps.trivy.outcome"}, false},
	}
	for _, tt := range tests {
		if got := runsAfterFailure(tt.cond, tt.gates...); got != tt.want {
			t.Errorf("runsAfterFailure(%q, %v) = %v, want %v", tt.cond, tt.gates, got, tt.want)
		}
	}
}

func TestSkippable(t *testing.T) {
	tests := []struct {
		scan, sign []string
		want       string
	}{
		{nil, nil, ""},
		{[]string{"always()"}, nil, ""},
		{[]string{"github.event_name == 'push'"}, []string{"${{ github.event_name == 'push' && github.ref_type == 'tag' }}"}, ""},
		{[]string{"${{ !inputs.skip }}"}, nil, "!inputs.skip"},
		{[]string{"failure()"}, nil, "failure()"},
		{[]string{"(github.event_name == 'push') && success()"}, []string{"github.event_name == 'push'"}, ""},
	}
	for _, tt := range tests {
		if got := skippable(tt.scan, tt.sign); got != tt.want {
			t.Errorf("skippable(%v, %v) = %q, want %q", tt.scan, tt.sign, got, tt.want)
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
