package steps

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

func TestPwshToShell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`$ref = "ghcr.io/a/b@sha256:0"`, `ref="ghcr.io/a/b@sha256:0"`},
		{`$d = (Get-Content digest.txt)`, `d=${VALUE_COMPUTED_BY_THE_SCRIPT}`},
		{`& cosign sign --yes $ref`, `cosign sign --yes $ref`},
		{`cosign sign "$env:IMAGE@${env:DIGEST}"`, `cosign sign "${IMAGE}@${DIGEST}"`},
		{"cosign sign `\n  $ref", "cosign sign \\\n  $ref"},
		{`Invoke-Expression "cosign sign $ref"`, `eval "cosign sign $ref"`},
		{`"digest=$d" >> $env:GITHUB_OUTPUT`, `echo "digest=$d" >> ${GITHUB_OUTPUT}`},
		{`Write-Output "IMAGE=x" >> $env:GITHUB_ENV`, `echo "IMAGE=x" >> ${GITHUB_ENV}`},
		{`if ($a -eq $b) { exit 1 }`, `if ($a -eq $b) { exit 1 }`},
	} {
		if got := pwshToShell(tc.in); got != tc.want {
			t.Errorf("pwshToShell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
