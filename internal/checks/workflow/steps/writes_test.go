package steps

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks/workflow/shell"
)

func TestFileWrites(t *testing.T) {
	id := func(s string) string { return s }
	for _, tc := range []struct {
		script string
		want   []string
	}{
		{`printf '%s\n' '*' > .trivyignore`, []string{".trivyignore"}},
		{`echo CVE-1 >> .trivyignore`, []string{".trivyignore"}},
		{`echo '*' | tee -a .trivyignore`, []string{".trivyignore"}},
		{`echo '*' | sudo tee .trivyignore > /dev/null`, []string{"/dev/null", ".trivyignore"}},
		{`cp ci/ignores .trivyignore`, []string{".trivyignore"}},
		{`mv -f /tmp/x policy.rego`, []string{"policy.rego"}},
		{`cp -t conf ci/trivy.yaml`, []string{"conf/"}},
		{`sed -i 's/^#//' .trivyignore`, []string{".trivyignore"}},
		{`sed 's/^#//' .trivyignore`, nil},
		{`curl -fsSLo ignore.rego https://example.com/p`, []string{"ignore.rego"}},
		{`curl -sS --output=vex.json https://example.com/v`, []string{"vex.json"}},
		{`curl -O https://example.com/v`, nil},
		{`wget -O .trivyignore https://example.com/i`, []string{".trivyignore"}},
		{`cat .trivyignore`, nil},
		{`trivy image --ignorefile .trivyignore img`, nil},
	} {
		sh := shell.Parse(tc.script, true, false)
		var got []string
		for i := range sh.Cmds {
			got = append(got, fileWrites(&sh.Cmds[i], id)...)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.script, diff)
		}
	}
}

func TestWrittenBefore(t *testing.T) {
	w := &jobWalk{files: map[string]string{"sub/.trivyignore": "by step 2", "conf/": "by step 3", "a/b.rego": "by step 4"}}
	for _, tc := range []struct{ p, want string }{
		{".trivyignore", "by step 2"}, // a script may cd first
		{"conf/trivy.yaml", "by step 3"},
		{"a/b.rego", "by step 4"},
		{"trivy.yaml", ""},
	} {
		if got := w.writtenBefore(tc.p); got != tc.want {
			t.Errorf("writtenBefore(%q) = %q, want %q", tc.p, got, tc.want)
		}
	}
	if got := (*jobWalk)(nil).writtenBefore("x"); got != "" {
		t.Errorf("nil walk: %q", got)
	}
}

func TestSignerAliases(t *testing.T) {
	id := func(s string) string { return s }
	for _, tc := range []struct {
		script string
		name   string // the command run afterwards
		want   string
	}{
		{"curl -fsSLo /usr/local/bin/sigtool https://github.com/sigstore/cosign/releases/download/v2.4.1/cosign-linux-amd64", "sigtool", "cosign"},
		{"wget -q -O st https://github.com/notaryproject/notation/releases/download/v1.2.0/notation.exe", "st", "notation"},
		{"curl -sSL -o x https://github.com/sigstore/cosign/releases/download/v2.4.1/cosign_2.4.1_amd64.deb", "x", ""},
		{"curl -sSL -o inst.sh https://raw.githubusercontent.com/sigstore/cosign/main/install.sh", "inst.sh", ""},
		{"curl -o /usr/local/bin/t https://github.com/aquasecurity/trivy/releases/download/v0.50.0/trivy", "t", ""},
		{"mv cosign-linux-amd64 /usr/local/bin/sigtool", "sigtool", "cosign"},
		{"install -m 0755 cosign /usr/local/bin/st", "st", "cosign"},
		{"cp cosign /usr/local/bin/", "cosign", "cosign"},
		{"gh release download -R sigstore/cosign -p 'cosign-linux-amd64' -O /usr/local/bin/st", "st", "cosign"},
		{"mv trivy /usr/local/bin/sigtool", "sigtool", ""},
		{"true", "cosign-linux-amd64", "cosign"},
		{"true", "cosign-installer", ""},
		{"true", "notationx", ""},
	} {
		w := &jobWalk{}
		sh := shell.Parse(tc.script, true, false)
		for i := range sh.Cmds {
			w.noteAliases(&sh.Cmds[i], id)
		}
		if got := w.signerAlias(tc.name); got != tc.want {
			t.Errorf("%q then %s: signer %q, want %q", tc.script, tc.name, got, tc.want)
		}
	}
}

// FuzzFileWrites runs the readers of what a command writes and installs
// over arbitrary scripts: they must not panic.
func FuzzFileWrites(f *testing.F) {
	for _, s := range []string{"printf '*' > .trivyignore", "curl -fsSLo a https://x/cosign-linux-amd64; mv a b", "cp -t", "sed -i", "gh release download -R", "tee"} {
		f.Add(s)
	}
	id := func(s string) string { return s }
	f.Fuzz(func(t *testing.T, script string) {
		w := &jobWalk{}
		sh := shell.Parse(script, true, false)
		for i := range sh.Cmds {
			_ = fileWrites(&sh.Cmds[i], id)
			w.noteAliases(&sh.Cmds[i], id)
		}
		_ = w.writtenBefore(".trivyignore")
	})
}
