package imagescan

import (
	"context"
	"fmt"

	"github.com/readiness-dev/readiness/internal/procexec"
)

// trivy's version is judged (MinTrivyVersion), and so is its DB's age
// (SCAN-DB-STALE). Neither is cached: a cache under $XDG_CACHE_HOME, keyed
// by file metadata, could be planted with an answer that makes an old DB
// read as fresh or an old trivy as new. The version comes from the reports
// themselves (trivy releases since PR #10065, January 2026, v0.74 among
// them, name their version); only an older trivy
// costs a `trivy version` run, a whole trivy start-up. The DB's metadata is
// read from the cache directory (dbsource.go), where `trivy version` would
// read it.

// installTrivy says how to get a trivy this gate accepts, for users of any
// repository.
const installTrivy = "install trivy " + MinTrivyVersion + " or newer: a release from https://github.com/aquasecurity/trivy/releases (see https://trivy.dev), or GOEXPERIMENT=jsonv2 go install -ldflags '-X github.com/aquasecurity/trivy/pkg/version/app.ver=0.74.0' github.com/aquasecurity/trivy/cmd/trivy@v0.74.0"

type probeResult struct {
	info *versionInfo
	err  error
}

// trivyVersion is the checked version of the trivy that wrote the reports:
// the one they name, or for a trivy that names none the output of `trivy
// version`. Reports that disagree are an error.
func (c *Check) trivyVersion(ctx context.Context, inv *invocation, versions []string) (string, error) {
	named := ""
	for _, v := range versions {
		switch {
		case v == "":
		case named == "":
			named = v
		case v != named:
			return "", fmt.Errorf("trivy %s named two versions in its reports (%s and %s)", inv.bin, named, v)
		}
	}
	if named == "" {
		p := c.version(ctx, inv)
		if p.err != nil {
			return "", p.err
		}
		named = p.info.Version
	}
	if err := checkVersion(inv.bin, &versionInfo{Version: named}); err != nil {
		return "", err
	}
	return named, nil
}

// version returns the checked output of `trivy version --format json`.
func (c *Check) version(ctx context.Context, inv *invocation) probeResult {
	out, err := c.deps.Exec(ctx, inv.cmd(inv.versionArgs()))
	if err != nil {
		return probeResult{err: runFailure(ctx, "trivy version", err)}
	}
	if out.ExitCode != 0 {
		return probeResult{err: fmt.Errorf("`trivy version` exited with code %d: %s", out.ExitCode, shorten(firstNonEmpty(fatalLine(out.Stderr), lastLine(out.Stderr), "no message"), 300))}
	}
	info, err := parseVersionInfo(out.Stdout)
	if err != nil {
		return probeResult{err: err}
	}
	if err := checkVersion(inv.bin, info); err != nil {
		return probeResult{err: err}
	}
	return probeResult{info: info}
}

// cmd is a trivy process: in readiness's work directory, with the
// allowlisted environment only.
func (v *invocation) cmd(args []string) procexec.Cmd {
	return procexec.Cmd{Path: v.bin, Args: args, Dir: v.work, Env: v.env, OnlyEnv: true}
}

// checkVersion holds trivy's version against MinTrivyVersion.
func checkVersion(bin string, info *versionInfo) error {
	v, err := parseSemver(info.Version)
	if err != nil {
		return fmt.Errorf("trivy %s reports version %q, which cannot be checked against the minimum %s; %s (a plain go install reports \"dev\": stamp the version with -ldflags as shown)", bin, info.Version, MinTrivyVersion, installTrivy)
	}
	minV, _ := parseSemver(MinTrivyVersion)
	if v.less(minV) {
		return fmt.Errorf("trivy %s is %s, older than the minimum %s this gate needs; %s", bin, info.Version, MinTrivyVersion, installTrivy)
	}
	return nil
}
