package workflow

import (
	"testing"

	"github.com/readiness-dev/readiness/internal/checks/workflow/shell"
)

func TestJoinCall(t *testing.T) {
	for _, tc := range []struct{ prog, list, want string }{
		{"cosign", `'sign', "--yes", 'ghcr.io/a/b@sha256:0'`, "cosign sign --yes ghcr.io/a/b@sha256:0"},
		{"cosign", `'sign', ref`, "cosign sign ${VALUE_COMPUTED_BY_THE_SCRIPT}"},
		{"", `"cosign", "sign", f"{img}"`, "cosign sign ${VALUE_COMPUTED_BY_THE_SCRIPT}"},
		{"cosign", "'sign', `${process.env.IMAGE}@${{ steps.b.outputs.digest }}`", "cosign sign ${VALUE_COMPUTED_BY_THE_SCRIPT}"},
		{"cosign", "'sign', `ghcr.io/a/b@${{ steps.b.outputs.digest }}`", "cosign sign 'ghcr.io/a/b@${{ steps.b.outputs.digest }}'"},
		{"sh", `'-c', 'cosign sign x; echo ok'`, `sh -c 'cosign sign x; echo ok'`},
	} {
		if got := joinCall(tc.prog, tc.list); got != tc.want {
			t.Errorf("joinCall(%q, %q) = %q, want %q", tc.prog, tc.list, got, tc.want)
		}
	}
}

// FuzzForeignCalls: whatever a script in another language holds, the
// commands read from it parse as shell without a fault.
func FuzzForeignCalls(f *testing.F) {
	for _, s := range []string{
		"await exec.exec('cosign', ['sign', '--yes', ref]);",
		`subprocess.run(["cosign", "sign", img], check=True)`,
		`os.system("cosign sign " + img)`,
		"execSync(`cosign sign ${img}`)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, m := range jsCallRE().FindAllStringSubmatch(text, -1) {
			_ = shell.Parse(joinCall(m[2], m[3]), true, false)
		}
		for _, m := range pyListRE().FindAllStringSubmatch(text, -1) {
			_ = shell.Parse(joinCall("", m[1]), true, false)
		}
	})
}
