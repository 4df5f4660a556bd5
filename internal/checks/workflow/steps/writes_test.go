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
