package scaffold

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Render writes the commented readiness.yaml for p. Every check it enables
// runs with what the repository already has; what it cannot know (the image
// to scan) is written commented out. now dates the example waiver, so that
// uncommenting it gives a waiver that neither expired nor exceeds the
// default 90-day horizon.
func Render(p Plan, now time.Time) []byte {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# readiness.yaml — written by `readiness init`; edit freely.\n")
	w("# Run `readiness check` to judge a release: GO (exit 0) or NO-GO (exit 1).\n")
	w("# Every gate is documented in docs/gates/ of readiness; `readiness explain RULE`\n")
	w("# describes a finding and how to fix it.\n")
	w("version: 1\ntimeout: 20m\n\nchecks:\n")
	enabled := 0
	var required []string // the gate types written enabled
	keyGate := p.keyGate()
	if !keyGate && (p.SecurityMD != "" || p.SecurityTxt != "") {
		w("  # No security-key gate: %s promises no OpenPGP key (no key file, fingerprint\n", safe(firstNonEmpty(p.SecurityMD, p.SecurityTxt)))
		w("  # or mention of encryption), so there is none to verify.\n")
	}
	if keyGate {
		enabled++
		w("  # The disclosure policy's key must exist, be sound, encrypt, and carry\n")
		w("  # the contact address the policy names.\n")
		if p.SecurityMD == "" && p.SecurityTxt == "" && len(p.Keys) == 0 {
			w("  # Nothing else was found to check: this repository has no SECURITY.md yet,\n")
			w("  # which this gate reports. Add one (and its key), or replace this gate.\n")
		}
		var found []string
		for _, f := range append([]string{p.SecurityMD, p.SecurityTxt}, p.Keys...) {
			if f != "" {
				found = append(found, f)
			}
		}
		if len(found) > 0 {
			w("  # Found: %s.\n", safe(strings.Join(found, ", ")))
		}
		w("  - name: security-key\n    timeout: 1m\n")
		required = append(required, "security-key")
		var with []string
		if len(p.Keys) > 0 {
			with = append(with, "key: "+q(p.Keys[0]))
			if len(p.Keys) > 1 {
				with = append(with, "# other keys found: "+safe(strings.Join(p.Keys[1:], ", ")))
			}
		}
		if p.SecurityMD != "" {
			with = append(with, "security_md: "+q(p.SecurityMD))
		}
		if p.SecurityTxt != "" {
			with = append(with, "security_txt: "+q(p.SecurityTxt))
		}
		writeWith(&b, with)
	}
	if len(p.Workflows) > 0 {
		enabled++
		w("\n  # Every path in CI to a signature or a published artifact must pass a\n")
		w("  # blocking vulnerability scan of the same artifact first.\n")
		w("  # Release workflows found: %s.\n", safe(strings.Join(p.Workflows, ", ")))
		w("  - name: workflow\n    timeout: 1m\n")
		required = append(required, "workflow")
		writeWith(&b, []string{"dir: .github/workflows"})
	} else if p.AnyWorkflows {
		// A CI that only tests has nothing for this gate to judge: proposing
		// it would report WF-NO-RELEASE-WORKFLOW-style noise, or pass vacuously.
		w("\n  # No workflow in .github/workflows releases, signs or publishes. When one\n")
		w("  # does, this gate checks that it scans the artifact before signing it.\n")
		w("  # - name: workflow\n  #   timeout: 1m\n  #   with:\n  #     dir: .github/workflows\n")
	}
	if len(p.Suites) == 0 {
		w("\n  # No tests gate: no test command was found (go.mod, pytest, package.json's\n")
		w("  # test script, unittest, meson, CMake/CTest, Maven, Gradle, cargo, make test).\n")
		w("  # A GO then says nothing about tests: add a suite that writes JUnit, TAP or\n")
		w("  # go test -json (docs/gates/tests.md).\n")
	}
	if active(p.Suites) > 0 {
		enabled++
		w("\n  # The test suites, run through the tests gate: a failing, flaky or\n")
		w("  # silently skipped test blocks. Add `repeat: 3` to a suite to catch flakes,\n")
		w("  # and list the tests that must exist under `required:`.\n")
		w("  - name: tests\n    timeout: 15m\n    with:\n      suites:\n")
		required = append(required, "tests")
		for _, s := range p.Suites {
			if !s.Commented {
				writeSuite(w, s, "")
			}
		}
	}
	if active(p.Suites) < len(p.Suites) {
		if active(p.Suites) == 0 {
			w("\n  # The tests gate, once a runner writes a report it reads:\n")
			w("  # - name: tests\n  #   timeout: 15m\n  #   with:\n  #     suites:\n")
		}
		for _, s := range p.Suites {
			if s.Commented {
				writeSuite(w, s, "# ")
			}
		}
	}
	if enabled == 0 {

		// Unreachable: security-key is the fallback above. Kept so that a
		// future edit cannot write a config that fails to load.
		w("  - name: security-key\n")
	}
	w("\n  # Scan the release image with trivy (installed separately) before it is\n")
	w("  # signed. Uncomment when the image is built where this runs.\n")
	image := p.Image
	switch {
	case image != "":
		w("  # The image %s pushes.\n", safe(p.ImageSource))
	case p.ImageSource != "":
		image = "registry.example.com/app:latest"
		w("  # %s builds an image, but no workflow names where it is pushed: put its\n", safe(p.ImageSource))
		w("  # reference (by digest where you can) in place of this placeholder.\n")
	default:
		image = "registry.example.com/app:latest"
		w("  # No Dockerfile or image reference was found: this is a placeholder; name your image.\n")
	}
	w("  # - name: image-scan\n  #   timeout: 10m\n  #   with:\n  #     images: [%s]\n", q(image))
	if len(required) > 0 {
		w("\n# The gate types this repository must keep: a readiness.yaml without one of\n")
		w("# them is NO-GO (GATE-NOT-CONFIGURED). Add image-scan once it is enabled.\n")
		w("require: [%s]\n", strings.Join(required, ", "))
	}
	w("\n# Accept a known finding until a date (reason, owner and expiry required):\n")
	w("# waivers:\n#   - id: KEY-NO-EXPIRY\n#     reason: rotating the key next release\n#     owner: security-team\n#     expires: %s\n", now.UTC().AddDate(0, 0, 30).Format("2006-01-02"))
	return []byte(b.String())
}

// keyGate reports whether the proposal has a security-key gate: where a key
// is promised, and as the fallback when no other gate fits (a config needs
// one check, and a missing disclosure policy is worth reporting).
func (p Plan) keyGate() bool {
	return p.KeyPromised || len(p.Workflows) == 0 && !p.AnyWorkflows && active(p.Suites) == 0
}

// active counts the suites proposed uncommented.
func active(suites []Suite) int {
	n := 0
	for _, s := range suites {
		if !s.Commented {
			n++
		}
	}
	return n
}

// writeSuite writes one suite of the tests gate; pre "# " comments it out.
func writeSuite(w func(string, ...any), s Suite, pre string) {
	w("        # from %s\n", safe(s.Why))
	if s.Note != "" {
		w("        # NOTE: %s\n", safe(s.Note))
	}
	w("        %s- name: %s\n        %s  command: %s\n", pre, q(s.Name), pre, flow(s.Command))
	if len(s.Env) > 0 {
		keys := make([]string, 0, len(s.Env))
		for k := range s.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, k+": "+q(s.Env[k]))
		}
		w("        %s  env: {%s}\n", pre, strings.Join(kv, ", "))
	}
	w("        %s  timeout: 10m\n", pre)
	if s.Path != "" {
		w("        %s  report: {format: %s, path: %s}\n", pre, s.Format, q(s.Path))
	} else {
		w("        %s  report: {format: %s}\n", pre, s.Format)
	}
}

func writeWith(b *strings.Builder, lines []string) {
	if len(lines) == 0 {
		return
	}
	b.WriteString("    with:\n")
	for _, l := range lines {
		b.WriteString("      " + l + "\n")
	}
}

var plainRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_./=+][A-Za-z0-9_./=+:-]*$`) })

// safe keeps text from the repository (file names, scripts) on its comment
// line: a control character could otherwise start a line of YAML.
func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return '?'
		}
		return r
	}, s)
}

// q quotes a scalar unless it is plainly safe in YAML.
func q(s string) string {
	if plainRE().MatchString(s) && !strings.Contains(s, ": ") {
		return s
	}
	j, _ := json.Marshal(s) // a JSON string is a YAML double-quoted scalar
	return string(j)
}

// flow writes a YAML flow sequence, quoting each item.
func flow(items []string) string {
	out := make([]string, len(items))
	for i, it := range items {
		j, _ := json.Marshal(it)
		out[i] = string(j)
		if plainRE().MatchString(it) || strings.HasPrefix(it, "-") && plainRE().MatchString(it[1:]) {
			out[i] = it
		}
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// Describe summarises the plan in one line for the terminal.
func Describe(p Plan) string {
	var parts []string
	if p.keyGate() {
		parts = append(parts, "security-key")
	}
	if len(p.Workflows) > 0 {
		parts = append(parts, fmt.Sprintf("workflow (%d release workflow(s))", len(p.Workflows)))
	}
	var n, off []string
	for _, s := range p.Suites {
		if s.Commented {
			off = append(off, s.Name)
		} else {
			n = append(n, s.Name)
		}
	}
	if len(n) > 0 {
		parts = append(parts, "tests: "+strings.Join(n, ", "))
	}
	if len(off) > 0 {
		parts = append(parts, "tests commented out (no report format): "+strings.Join(off, ", "))
	}
	if len(p.Suites) == 0 {
		parts = append(parts, "no tests gate: no test command found, so a GO says nothing about tests")
	}
	return strings.Join(parts, "; ") + "; image-scan commented out"
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// Need is a gate type the repository calls for, and why.
type Need struct{ Type, Why string }

// CalledFor lists the gates the plan would propose enabled, with what in
// the repository calls for each: what a GO over fewer gates must name.
func CalledFor(p Plan) []Need {
	var out []Need
	if p.KeyPromised {
		why := firstNonEmpty(p.SecurityMD, p.SecurityTxt) + " promises an OpenPGP key"
		if len(p.Keys) > 0 {
			why = "the key file " + p.Keys[0] + " was found"
		}
		out = append(out, Need{"security-key", why})
	}
	if len(p.Workflows) > 0 {
		out = append(out, Need{"workflow", p.Workflows[0] + " releases, signs or publishes"})
	}
	for _, s := range p.Suites {
		if !s.Commented {
			out = append(out, Need{"tests", fmt.Sprintf("a %s suite was found: %s", s.Name, s.Why)})
			break
		}
	}
	switch {
	case p.Image != "":
		out = append(out, Need{"image-scan", p.ImageSource + " pushes " + p.Image})
	case p.ImageSource != "":
		out = append(out, Need{"image-scan", p.ImageSource + " builds an image"})
	}
	return out
}
