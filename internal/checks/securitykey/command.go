package securitykey

import (
	"fmt"
	"path/filepath"

	"github.com/readiness-dev/readiness/internal/checks"
)

// command is `readiness key verify [KEY_FILE]`.
func command() *checks.Command {
	return &checks.Command{
		Group: "key", GroupShort: "Check the project's published OpenPGP security contact key",
		Use:   "verify [KEY_FILE]",
		Short: "Verify the security contact key against SECURITY.md and print GO or NO-GO",
		Long: `Runs the security-key gate alone and prints the same verdict, findings and
formats as 'readiness check --only security-key'.

Defaults come from the security-key check in readiness.yaml when that file
exists (--config), else KEY_FILE is docs/keys/security.asc and the policy is
SECURITY.md. KEY_FILE and --security-md override them; relative paths on the
command line are relative to the current directory.`,
		Example: `  readiness key verify
  readiness key verify docs/keys/security.asc --security-md SECURITY.md
  readiness key verify --expiry-fail 60d --format json --output key-evidence.json`,
		ConfigFlagUsage: "configuration `FILE` whose security-key check gives the defaults (used when it exists)",
		MaxArgs:         1,
		ArgName:         "KEY_FILE",
		Args: func(args []string) (map[string]any, error) {
			abs, err := filepath.Abs(args[0])
			if err != nil {
				return nil, fmt.Errorf("KEY_FILE %s: %w", args[0], err)
			}
			return map[string]any{"key": abs}, nil
		},
		Flags: []checks.Flag{
			{Name: "security-md", Key: "security_md", Kind: checks.FlagPath, Usage: "the disclosure policy `FILE` (default: the check's security_md, else SECURITY.md, .github/SECURITY.md or docs/SECURITY.md)"},
			{Name: "security-txt", Key: "security_txt", Kind: checks.FlagPath, Literal: "none", Usage: "an RFC 9116 security.txt `FILE` to check as well (default: .well-known/security.txt or security.txt when present; none to skip)"},
			{Name: "expiry-fail", Key: "expiry_fail", Kind: checks.FlagDuration, Usage: "a key expiring within this `DURATION` (e.g. 30d) is a blocking finding (default: the check's expiry_fail, else 30d)"},
			{Name: "expiry-warn", Key: "expiry_warn", Kind: checks.FlagDuration, Usage: "a key expiring within this `DURATION` (e.g. 90d) is a warning (default: the check's expiry_warn, else 90d)"},
		},
	}
}
