package imagescan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// This file is the one place that decides how trivy runs: its environment,
// its working directory and every flag that can change what it reports.
// Checked against trivy v0.74.0's source (pkg/flag/*.go, pkg/commands/app.go):
//
//   - trivy binds a TRIVY_<FLAG> variable to every flag (Flag.BindEnv), plus
//     TRIVY_NON_SSL; it reads a config file (--config, default ./trivy.yaml)
//     whose keys set every flag too. So trivy gets no TRIVY_* variable at all
//     (trivyEnviron), its --config names an empty file readiness wrote, and
//     it runs in a fresh working directory readiness created, where no
//     trivy.yaml, .trivyignore or trivy-secret.yaml can be waiting.
//   - Files trivy would find on its own under $HOME are pointed elsewhere:
//     WASM modules (--module-dir, default ~/.trivy/modules, all loaded and
//     able to rewrite results) and the secret config (--secret-config).
//   - Every result-changing setting is a flag with its value, even when the
//     value is trivy's default, and the same values are recorded as the
//     trivy_settings fact (Settings).

// envAllowed are the variables trivy may see, exactly, besides the prefixes
// below. Why each:
//   - PATH: docker credential helpers are found on it; HOME/USERPROFILE:
//     ~/.docker/config.json; TMPDIR/TMP/TEMP: where trivy unpacks layers;
//     SystemRoot: Windows processes cannot start without it.
//   - proxies: a machine that reaches registries only through one.
//   - registry credentials, read by go-containerregistry's keychains inside
//     trivy: DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR and
//     XDG_CONFIG_HOME (podman's auth.json), GITHUB_TOKEN and GITHUB_ACTOR
//     (authn/github, used for ghcr.io), GOOGLE_APPLICATION_CREDENTIALS and
//     CLOUDSDK_CONFIG (GCR/Artifact Registry).
//
// None of them names a severity, an ignore rule, a DB or a file to skip.
var envAllowed = []string{
	"PATH", "HOME", "USERPROFILE", "TMPDIR", "TMP", "TEMP", "SystemRoot",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME",
	"GITHUB_TOKEN", "GITHUB_ACTOR",
	"GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG",
}

// envAllowedPrefixes are registry-credential families: AWS_* for ECR
// (the AWS SDK's default chain), AZURE_* for ACR (azidentity).
var envAllowedPrefixes = []string{"AWS_", "AZURE_"}

// trivyEnviron is the environment trivy runs in: the allowed variables of
// environ, nothing else. A TRIVY_* variable never passes, whatever its name.
func trivyEnviron(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.HasPrefix(strings.ToUpper(k), "TRIVY_") {
			continue
		}
		if envAllowedName(k) {
			out = append(out, kv)
		}
	}
	return out
}

func envAllowedName(k string) bool {
	if runtime.GOOS == "windows" {
		// Windows variable names are case-insensitive.
		for _, a := range envAllowed {
			if strings.EqualFold(a, k) {
				return true
			}
		}
	} else if slices.Contains(envAllowed, k) {
		return true
	}
	for _, p := range envAllowedPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// envNames lists the names of an environment's variables, sorted.
func envNames(env []string) []string {
	names := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Trivy's own defaults for the DBs, as of v0.74.0 (pkg/db, pkg/javadb). They
// are passed explicitly, so a TRIVY_DB_REPOSITORY or a config file cannot
// swap them, and recorded, so the evidence says where a DB may come from.
var (
	defaultDBRepositories     = []string{"mirror.gcr.io/aquasec/trivy-db:2", "ghcr.io/aquasecurity/trivy-db:2"}
	defaultJavaDBRepositories = []string{"mirror.gcr.io/aquasec/trivy-java-db:1", "ghcr.io/aquasecurity/trivy-java-db:1"}
	// defaultChecksBundle is where the misconfig scanner's checks come from.
	defaultChecksBundle = "mirror.gcr.io/aquasec/trivy-checks:2"
)

// allSeverities: trivy is always asked for every severity; which block is
// the policy's decision.
var allSeverities = []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// Settings are every trivy setting that can change what a scan reports,
// with the value readiness passed. They are recorded as the trivy_settings
// fact. VEX documents are only readiness.yaml's vex: (see vex.go). A
// setting readiness never uses (an ignore policy,
// skipped files or directories, a forced distribution, a trivy server, WASM
// modules) is recorded with its value "none"/empty and cannot be set from
// outside readiness.yaml: trivy sees no TRIVY_* variable and no config file.
type Settings struct {
	Scanners           []string `json:"scanners"`
	Severities         []string `json:"severity"`
	PkgTypes           []string `json:"pkg_types"`
	IgnoreUnfixed      bool     `json:"ignore_unfixed"`
	IgnoreStatus       []string `json:"ignore_status"`
	IgnoreFile         string   `json:"ignore_file"`
	IgnorePolicy       string   `json:"ignore_policy"`
	VEX                []string `json:"vex"`
	SkipFiles          []string `json:"skip_files"`
	SkipDirs           []string `json:"skip_dirs"`
	Distro             string   `json:"distro"`
	DetectionPriority  string   `json:"detection_priority"`
	VulnSeveritySource []string `json:"vuln_severity_source"`
	ImageConfigScan    []string `json:"image_config_scanners"`
	// SBOMSources would let trivy judge an SBOM found in the registry or
	// Rekor instead of the image's own contents.
	SBOMSources        []string `json:"sbom_sources"`
	RemovedPkgs        bool     `json:"removed_pkgs"`
	Server             string   `json:"server"`
	ConfigFile         string   `json:"config_file"`
	ModuleDir          string   `json:"module_dir"`
	SecretConfig       string   `json:"secret_config"`
	CacheDir           string   `json:"cache_dir"`
	DBRepositories     []string `json:"db_repository"`
	JavaDBRepositories []string `json:"java_db_repository"`
	ChecksBundle       string   `json:"checks_bundle_repository"`
	SkipDBUpdate       bool     `json:"skip_db_update"`
	OfflineScan        bool     `json:"offline_scan"`
	Insecure           bool     `json:"insecure"`
	// Env names (never values: some are credentials) the variables trivy
	// was given, all from the allowlist.
	Env []string `json:"env"`
}

// invocation is how every trivy process of one check run is started.
type invocation struct {
	bin  string
	work string
	env  []string
	set  Settings
	// vex are the configured VEX documents, loaded.
	vex []vexDoc
}

// newInvocation prepares work (a fresh directory readiness created) as
// trivy's working directory and builds the settings from the options.
func (c *Check) newInvocation(bin, work string) (*invocation, error) {
	o := c.opts
	cfg := filepath.Join(work, "trivy-config.yaml")
	// An empty config: what trivy would read from --config, so that no
	// trivy.yaml (here, or named by TRIVY_CONFIG) sets anything.
	if err := os.WriteFile(cfg, []byte("{}\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write trivy's empty config file: %w", err)
	}
	cacheDir := o.CacheDir
	if cacheDir == "" {
		d, err := defaultTrivyCacheDir()
		if err != nil {
			return nil, err
		}
		cacheDir = d
	}
	ignore := o.IgnoreFile
	if ignore == "" {
		// Not trivy's default ./.trivyignore: only what readiness.yaml
		// names may suppress findings.
		ignore = os.DevNull
	}
	dbRepos := o.DBRepositories
	if len(dbRepos) == 0 {
		dbRepos = defaultDBRepositories
	}
	env := trivyEnviron(os.Environ())
	return &invocation{bin: bin, work: work, env: env, set: Settings{
		Scanners:           slices.Clone(o.Scanners),
		Severities:         allSeverities,
		PkgTypes:           []string{"os", "library"},
		IgnoreUnfixed:      o.IgnoreUnfixed,
		IgnoreStatus:       []string{},
		IgnoreFile:         ignore,
		IgnorePolicy:       "",
		VEX:                vexSources(o.VEX),
		SkipFiles:          []string{},
		SkipDirs:           []string{},
		Distro:             "",
		DetectionPriority:  "precise",
		VulnSeveritySource: []string{"auto"},
		ImageConfigScan:    []string{},
		SBOMSources:        []string{},
		RemovedPkgs:        false,
		Server:             "",
		ConfigFile:         cfg,
		ModuleDir:          filepath.Join(work, "no-modules"),
		SecretConfig:       filepath.Join(work, "no-trivy-secret.yaml"),
		CacheDir:           cacheDir,
		DBRepositories:     slices.Clone(dbRepos),
		JavaDBRepositories: defaultJavaDBRepositories,
		ChecksBundle:       defaultChecksBundle,
		SkipDBUpdate:       o.SkipDBUpdate,
		OfflineScan:        o.SkipDBUpdate,
		Insecure:           o.Insecure,
		Env:                envNames(env),
	}}, nil
}

// defaultTrivyCacheDir is trivy's own default (os.UserCacheDir()/trivy),
// computed here so that it is passed and recorded rather than left to
// TRIVY_CACHE_DIR.
func defaultTrivyCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find trivy's cache directory (set cache_dir: in readiness.yaml): %w", err)
	}
	return filepath.Join(d, "trivy"), nil
}

// common are the flags every trivy command gets: where its config, cache
// and DBs are, and whether it may go online.
func (v *invocation) common() []string {
	s := v.set
	args := []string{
		"--config", s.ConfigFile,
		"--cache-dir", s.CacheDir,
	}
	if s.Insecure {
		args = append(args, "--insecure")
	}
	return args
}

// scanArgs is the trivy command line for one target. Flags whose value is
// "none" (ignore policy, ignore status, skip files and dirs, distro,
// image-config scanners, SBOM sources, server) are not passed:
// trivy's built-in default is none, and with no TRIVY_* variable and an
// empty config file nothing else can set them.
func (v *invocation) scanArgs(ctx context.Context, t target) []string {
	return v.imageArgs(ctx, t, "json")
}

// sbomArgs is the command line of the SBOM of one target: the scan's own,
// every setting the same, with only the output format changed, so the SBOM
// describes what the scan saw.
func (v *invocation) sbomArgs(ctx context.Context, t target) []string {
	return v.imageArgs(ctx, t, "cyclonedx")
}

func (v *invocation) imageArgs(ctx context.Context, t target, format string) []string {
	s := v.set
	args := append([]string{"image"}, v.common()...)
	args = append(args,
		"--format", format,
		"--exit-code", "0",
		"--scanners", strings.Join(s.Scanners, ","),
		"--severity", strings.Join(s.Severities, ","),
		"--pkg-types", strings.Join(s.PkgTypes, ","),
		"--ignore-unfixed="+fmt.Sprint(s.IgnoreUnfixed),
		"--ignorefile", s.IgnoreFile,
		"--detection-priority", s.DetectionPriority,
		"--vuln-severity-source", strings.Join(s.VulnSeveritySource, ","),
		"--removed-pkgs="+fmt.Sprint(s.RemovedPkgs),
		"--module-dir", s.ModuleDir,
		"--secret-config", s.SecretConfig,
		"--db-repository", strings.Join(s.DBRepositories, ","),
		"--java-db-repository", strings.Join(s.JavaDBRepositories, ","),
		"--checks-bundle-repository", s.ChecksBundle,
		"--cache-backend", "memory",
		"--no-progress",
		"--skip-version-check",
		"--disable-telemetry",
	)
	for _, f := range t.VEX {
		args = append(args, "--vex", f)
	}
	if s.IgnoreFile != os.DevNull || len(t.VEX) > 0 {
		args = append(args, "--show-suppressed")
	}
	if s.SkipDBUpdate {
		args = append(args, "--skip-db-update", "--skip-java-db-update", "--skip-check-update", "--offline-scan")
	}
	if dl, ok := ctx.Deadline(); ok {
		// trivy's own default timeout (5m) must not cut a scan the check's
		// timeout allows.
		if left := time.Until(dl).Round(time.Second); left > time.Second {
			args = append(args, "--timeout", left.String())
		}
	}
	return append(args, t.Args...)
}

// versionArgs is `trivy version` against the same cache directory.
func (v *invocation) versionArgs() []string {
	return append([]string{"version", "--format", "json"}, v.common()...)
}

// vexSources are the configured VEX documents as recorded in the settings
// (a URL with its pinned sha256).
func vexSources(v []VEXSource) []string {
	out := []string{}
	for _, s := range v {
		if s.SHA256 != "" {
			out = append(out, s.name()+"#sha256="+s.SHA256)
		} else {
			out = append(out, s.name())
		}
	}
	return out
}
