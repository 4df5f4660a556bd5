package steps

import (
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/readiness-dev/readiness/internal/checks/workflow/shell"
)

// Signers under other names. A job that downloads cosign's release binary
// (curl -o /usr/local/bin/sigtool …/cosign-linux-amd64) or copies, moves
// or links a signer to another name, then runs that name, runs the
// signer. Aliases only ever make a command a signer: a scanner is never
// recognised this way, so a renamed file cannot pass for a scan.

// signerBinaryRE matches the file names signers are released and
// installed under: cosign, cosign-linux-amd64, cosign_2.4.1_linux_arm64,
// notation.exe.
var signerBinaryRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(cosign|notation)(?:[-_.](?:v?[0-9]|linux|darwin|windows|freebsd|amd64|arm64|arm|x86_64|386|ppc64le|s390x|riscv64|static|exe)[a-z0-9_.-]*)?$`)
})

// notBinaryExts are file suffixes of release assets that are not the
// program: archives, packages, scripts, checksums, signatures.
var notBinaryExts = []string{".tar.gz", ".tgz", ".tar", ".zip", ".gz", ".xz", ".deb", ".rpm", ".apk", ".sh", ".ps1", ".py",
	".sig", ".pem", ".crt", ".cert", ".asc", ".sha256", ".sha512", ".txt", ".json", ".bundle", ".sbom", ".intoto.jsonl", ".md"}

// signerBinary names the signer a file name is a release binary of, or "".
func signerBinary(base string) string {
	base = strings.ToLower(base)
	m := signerBinaryRE().FindStringSubmatch(base)
	if m == nil {
		return ""
	}
	for _, ext := range notBinaryExts {
		if strings.HasSuffix(base, ext) {
			return ""
		}
	}
	return m[1]
}

// signerRepos are the release repositories of signers, as gh release
// download -R names them.
var signerRepos = map[string]string{"sigstore/cosign": "cosign", "notaryproject/notation": "notation"}

// signerAlias says which signer a command name runs: a release binary's
// name, or a name the job fetched or copied a signer to; "" when neither.
func (w *jobWalk) signerAlias(name string) string {
	if t := w.aliases[name]; t != "" {
		return t
	}
	return signerBinary(name)
}

// noteAliases records the names a command installs a signer under: a
// download of a signer's release binary to a file (curl -o, wget -O, gh
// release download -O), or cp/mv/install/ln of a signer to another name.
func (w *jobWalk) noteAliases(c *shell.Cmd, res func(string) string) {
	if len(c.Words) == 0 {
		return
	}
	name, args, _ := effective(c.Words, map[string]string{})
	tool := ""
	var dests []string
	switch name {
	case "curl", "wget":
		for _, x := range args {
			if u := res(x); strings.Contains(u, "://") {
				u, _, _ = strings.Cut(u, "?")
				if t := signerBinary(path.Base(u)); t != "" {
					tool = t
				}
			}
		}
		dests = fileWrites(c, res)
	case "gh":
		for i, x := range args {
			if (x == "-R" || x == "--repo") && i+1 < len(args) {
				tool = signerRepos[strings.ToLower(res(args[i+1]))]
			}
		}
		dests = fileWrites(c, res)
	case "cp", "mv", "install", "ln":
		var pos []string
		for _, x := range args {
			if !strings.HasPrefix(x, "-") {
				pos = append(pos, res(x))
			}
		}
		if len(pos) < 2 || strings.HasSuffix(pos[len(pos)-1], "/") {
			return // into a directory: the name stays
		}
		tool = w.signerAlias(path.Base(pos[len(pos)-2]))
		dests = pos[len(pos)-1:]
	}
	if tool == "" {
		return
	}
	for _, d := range dests {
		if b := path.Base(d); b != "" && b != "." && b != "/" && !strings.HasPrefix(d, "/dev/") {
			if w.aliases == nil {
				w.aliases = map[string]string{}
			}
			w.aliases[b] = tool
		}
	}
}
