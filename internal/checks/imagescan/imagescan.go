// Package imagescan is the image-scan gate: it resolves each image to the
// digest of every platform it holds, runs the real trivy on each digest,
// and reports every vulnerability as a finding (SCAN-<SEVERITY>-VULN), with
// trivy's version, its DB's age, the command lines and the raw reports as
// facts. The policy, not this gate, decides what blocks.
package imagescan

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/procexec"
	"github.com/readiness-dev/readiness/internal/trivyreport"
)

// Type is the gate type in readiness.yaml.
const Type = "image-scan"

//go:embed rules.yaml
var rulesYAML []byte

// Gate describes the image-scan gate.
func Gate() checks.Gate {
	return checks.Gate{
		Type:    Type,
		Summary: "trivy scans every platform digest of the release images; critical and high vulnerabilities block",
		Rules:   book,
		New:     fromSpec,
	}
}

// Defaults.
const (
	DefaultDBMaxAge        = 120 * time.Hour
	DefaultUnknownSeverity = checks.SeverityMedium
)

// Scanners trivy may run.
var knownScanners = []string{"vuln", "secret", "misconfig"}

// Options are the image-scan check's `with:` block.
type Options struct {
	// Images are registry references (tag or digest). Each is resolved to
	// a digest first; an index is scanned for every platform it holds.
	Images []string `yaml:"images"`
	// Inputs are docker-format image tarballs (docker save, crane pull).
	Inputs []string `yaml:"inputs"`
	// OCILayouts are OCI image layout directories; every image in each is
	// scanned.
	OCILayouts []string `yaml:"oci_layouts"`
	// Platforms, when set, limit multi-platform images to these
	// (os/arch[/variant]); a configured platform an index lacks is an error.
	Platforms []string `yaml:"platforms"`
	// Trivy is the trivy binary; "trivy" on PATH by default.
	Trivy string `yaml:"trivy"`
	// Scanners are trivy's scanners: vuln (the default), secret, misconfig.
	Scanners []string `yaml:"scanners"`
	// IgnoreUnfixed leaves out vulnerabilities without a fixed version.
	IgnoreUnfixed bool `yaml:"ignore_unfixed"`
	// IgnoreFile is a .trivyignore or .trivyignore.yaml trivy honours; the
	// evidence lists every finding it suppressed.
	IgnoreFile string `yaml:"ignorefile"`
	// SkipDBUpdate is offline mode: trivy downloads no DB (vulnerability,
	// Java, checks bundle) and makes no API calls; the DB in CacheDir must
	// exist, and its age is still judged.
	SkipDBUpdate bool `yaml:"skip_db_update"`
	// CacheDir is trivy's cache directory (its DB lives there).
	CacheDir string `yaml:"cache_dir"`
	// DBRepositories are OCI repositories trivy downloads its DB from
	// (mirrors), in order.
	DBRepositories []string `yaml:"db_repository"`
	// DBMaxAge is the oldest DB that may judge a release; 120h by default.
	DBMaxAge config.Duration `yaml:"db_max_age"`
	// UnknownSeverity is the severity given to vulnerabilities trivy rates
	// UNKNOWN; medium by default.
	UnknownSeverity string `yaml:"unknown_severity"`
	// ReportDir is where trivy's raw JSON reports are saved; a new
	// directory under the system temp dir by default (kept after the run).
	ReportDir string `yaml:"report_dir"`
	// Insecure allows plain-HTTP or unverified-TLS registries.
	Insecure bool `yaml:"insecure"`
	// SBOM, "cyclonedx", also has trivy write a CycloneDX SBOM of every
	// scanned image, with the scan's own settings; the release flow
	// attests it. Empty: none.
	SBOM string `yaml:"sbom"`
	// VEX are OpenVEX or CycloneDX VEX documents trivy applies (--vex):
	// repository files, or URLs pinned by sha256. Only statements whose
	// product is the scanned image by digest are passed on; the evidence
	// records each document's sha256 and every finding it suppressed, and
	// a bundle carries its bytes to the signer.
	VEX []VEXSource `yaml:"vex"`
}

// Validate checks the options and fills defaults.
func (o *Options) Validate() error {
	if len(o.Images)+len(o.Inputs)+len(o.OCILayouts) == 0 {
		return errors.New("no image to scan; list registry references under images:, tarballs under inputs: or directories under oci_layouts:")
	}
	for _, p := range o.Platforms {
		if _, err := parsePlatform(p); err != nil {
			return err
		}
	}
	if len(o.Scanners) == 0 {
		o.Scanners = []string{"vuln"}
	}
	if err := validScanners(o.Scanners); err != nil {
		return err
	}
	if o.DBMaxAge == 0 {
		o.DBMaxAge = config.Duration(DefaultDBMaxAge)
	}
	if o.DBMaxAge < 0 {
		return errors.New("db_max_age must be positive")
	}
	for _, v := range o.VEX {
		if err := v.validate(); err != nil {
			return err
		}
	}
	if o.SBOM != "" && o.SBOM != evidence.SBOMFormatCycloneDX {
		return fmt.Errorf("sbom %q is not a format this gate writes; use %s", o.SBOM, evidence.SBOMFormatCycloneDX)
	}
	if o.UnknownSeverity == "" {
		o.UnknownSeverity = string(DefaultUnknownSeverity)
	}
	if !checks.Severity(o.UnknownSeverity).Valid() {
		return fmt.Errorf("unknown_severity %q is not a severity; use critical, high, medium, low or info", o.UnknownSeverity)
	}
	return nil
}

// validScanners checks a non-empty scanner list: known scanners, and vuln
// among them. Without vuln trivy reports no vulnerability, and an image that
// was never scanned for any would pass the gate.
func validScanners(scanners []string) error {
	for _, s := range scanners {
		if !slices.Contains(knownScanners, s) {
			return fmt.Errorf("scanner %q is not one of %s", s, strings.Join(knownScanners, ", "))
		}
	}
	if !slices.Contains(scanners, "vuln") {
		return fmt.Errorf("scanners [%s] leave out vuln, so nothing would be scanned for vulnerabilities and a vulnerable image would pass; list vuln too (e.g. [vuln, %s]) or leave scanners unset for the default [vuln]", strings.Join(scanners, ", "), scanners[0])
	}
	return nil
}

func parsePlatform(s string) (v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" || strings.Count(s, "/") > 2 {
		return v1.Platform{}, fmt.Errorf("platform %q: write os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm64/v8", s)
	}
	return *p, nil
}

// resolvePaths makes relative paths absolute against dir (the config's
// directory). The trivy binary is resolved only when it names a path.
func (o *Options) resolvePaths(dir string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for i := range o.Inputs {
		o.Inputs[i] = abs(o.Inputs[i])
	}
	for i := range o.OCILayouts {
		o.OCILayouts[i] = abs(o.OCILayouts[i])
	}
	o.IgnoreFile, o.CacheDir, o.ReportDir = abs(o.IgnoreFile), abs(o.CacheDir), abs(o.ReportDir)
	for i := range o.VEX {
		o.VEX[i].Path = abs(o.VEX[i].Path)
	}
	if strings.ContainsRune(o.Trivy, filepath.Separator) {
		o.Trivy = abs(o.Trivy)
	}
}

// OptionsFromSpec decodes a spec's `with:` block strictly (unknown keys
// and wrong types are errors naming file and line) and resolves its
// relative paths against env.Dir. Defaults are applied by Validate.
func OptionsFromSpec(env checks.Env, spec config.CheckSpec) (Options, error) {
	var o Options
	if err := config.DecodeStrict(env.ConfigFile, &spec.With, &o); err != nil {
		return Options{}, err
	}
	if len(o.Scanners) > 0 {
		// Here, where the line is known: a flag can still replace the
		// list, and Validate checks it again.
		if err := validScanners(o.Scanners); err != nil {
			return Options{}, config.Errorf(env.ConfigFile, keyNode(spec, "scanners"), "check %q: %v", spec.Name, err)
		}
	}
	o.resolvePaths(env.Dir)
	return o, nil
}

// ValidReferences checks the syntax of registry references.
func (o *Options) ValidReferences() error {
	for _, ref := range o.Images {
		if err := validReference(ref, o.Insecure); err != nil {
			return err
		}
	}
	return nil
}

func fromSpec(env checks.Env, spec config.CheckSpec) (checks.Check, error) {
	o, err := OptionsFromSpec(env, spec)
	if err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, config.Errorf(env.ConfigFile, withNode(spec), "check %q: %v", spec.Name, err)
	}
	if err := o.ValidReferences(); err != nil {
		return nil, config.Errorf(env.ConfigFile, withNode(spec), "check %q: %v", spec.Name, err)
	}
	return New(o, Deps{Now: env.Now}), nil
}

// keyNode is the value of key in the `with:` block, or the block itself.
func keyNode(spec config.CheckSpec, key string) *yaml.Node {
	w := &spec.With
	if w.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(w.Content); i += 2 {
			if w.Content[i].Value == key {
				return w.Content[i+1]
			}
		}
	}
	return withNode(spec)
}

// withNode is where an error in the `with:` block points.
func withNode(spec config.CheckSpec) *yaml.Node {
	if spec.With.Kind == 0 {
		return &yaml.Node{Line: spec.Line}
	}
	return &spec.With
}

// Deps are what the check needs from outside.
type Deps struct {
	// Exec runs a process; procexec.Run when nil.
	Exec func(context.Context, procexec.Cmd) (procexec.Result, error)
	// Now is the clock DB age is judged by; time.Now when nil.
	Now func() time.Time
	// Remote adds registry options (transport, auth) to digest resolution.
	Remote []remote.Option
	// HTTP fetches vex: URLs; http.DefaultClient when nil.
	HTTP *http.Client
}

// Check is a configured image-scan check.
type Check struct {
	opts Options
	deps Deps
}

// New builds the check. Options must be valid (Validate) with paths
// already resolved.
func New(o Options, d Deps) *Check {
	if d.Exec == nil {
		d.Exec = procexec.Run
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Check{opts: o, deps: d}
}

// Options returns the check's options.
func (c *Check) Options() Options { return c.opts }

// Run resolves, scans and reports. Any fault (trivy missing or too old, a
// crash, output that is not a report, an unresolvable image) is an error:
// the check then reports status error and the verdict is NO-GO.
func (c *Check) Run(ctx context.Context) (checks.Result, error) {
	res := checks.Result{Facts: map[string]any{}}
	o := c.opts
	bin, err := c.findTrivy()
	if err != nil {
		return res, err
	}
	res.Facts[FactTrivy] = TrivyFact{Scanner: evidence.Scanner{Path: bin}, MinVersion: MinTrivyVersion}

	work, err := os.MkdirTemp("", "readiness-image-scan-work-")
	if err != nil {
		return res, fmt.Errorf("create a work directory: %w", err)
	}
	defer os.RemoveAll(work)
	if o.IgnoreFile != "" {
		if _, err := os.Stat(o.IgnoreFile); err != nil {
			return res, fmt.Errorf("ignorefile %s cannot be read: %v", o.IgnoreFile, unwrapPath(err))
		}
	}

	inv, err := c.newInvocation(bin, work)
	if err != nil {
		return res, err
	}
	res.Facts[FactSettings] = inv.set
	targets, err := c.resolve(ctx, work)
	if err != nil {
		return res, err
	}
	vexDocs, vexFindings, err := c.loadVEX(ctx)
	if err != nil {
		return res, err
	}
	inv.vex = vexDocs
	reportDir := o.ReportDir
	if reportDir == "" {
		// Kept after the run: the release flow attests these reports.
		if reportDir, err = os.MkdirTemp("", "readiness-image-scan-"); err != nil {
			return res, fmt.Errorf("create a report directory: %w", err)
		}
	} else if err := os.MkdirAll(reportDir, 0o755); err != nil {
		return res, fmt.Errorf("create report_dir %s: %v", reportDir, unwrapPath(err))
	}
	if err := saveVEX(vexDocs, reportDir); err != nil {
		return res, err
	}
	out := c.scanAll(ctx, inv, reportDir, targets)
	scans, findings := out.scans, out.findings
	res.Facts[FactScans] = nonNil(scans)
	if out.err != nil {
		return res, out.err
	}
	// The version is judged after the scans, whose results count only if
	// it passes: trivy names itself in each report (releases since early 2026, v0.74 among them), and
	// only an older one costs a `trivy version` run.
	version, err := c.trivyVersion(ctx, inv, out.versions)
	if err != nil {
		return res, err
	}
	res.Facts[FactTrivy] = TrivyFact{Scanner: evidence.Scanner{Path: bin, Version: version}, MinVersion: MinTrivyVersion}
	var (
		total   Counts
		took    time.Duration
		allSupp []Suppressed
	)
	for _, sf := range scans {
		total = total.Plus(sf.Counts)
		took += time.Duration(sf.DurationMS) * time.Millisecond
		allSupp = append(allSupp, sf.Suppressed...)
		res.Subjects = append(res.Subjects, sf.Subject())
	}
	res.Facts[FactCounts] = total
	res.Facts["trivy_duration_ms"] = took.Milliseconds()
	res.Facts["scanners"] = o.Scanners
	res.Facts[FactUnknownSeverity] = o.UnknownSeverity
	res.Facts["ignore_unfixed"] = o.IgnoreUnfixed
	res.Facts["offline"] = o.SkipDBUpdate
	res.Facts["report_dir"] = reportDir
	if len(o.Platforms) > 0 {
		res.Facts["platforms"] = o.Platforms
	}
	if env := withheldEnv(os.Environ()); len(env) > 0 {
		// Names only, for whoever wonders why a variable had no effect.
		res.Facts[FactEnvWithheld] = env
	}
	if o.IgnoreFile != "" {
		res.Facts["ignorefile"] = map[string]any{"path": o.IgnoreFile, "suppressed": nonNil(allSupp)}
	}
	if len(vexDocs) > 0 {
		facts := make([]VEXFact, 0, len(vexDocs))
		for _, d := range vexDocs {
			d.fact.Suppressed = []Suppressed{}
			for _, sp := range allSupp {
				if sp.Source == d.fact.Source {
					d.fact.Suppressed = append(d.fact.Suppressed, sp)
				}
			}
			facts = append(facts, d.fact)
		}
		res.Facts[FactVEX] = facts
		findings = append(findings, vexFindings...)
		findings = append(findings, otherProductFindings(vexDocs)...)
	}

	// The DB the scans used, read from the cache directory after them
	// (trivy may just have downloaded a new one): the same metadata.json
	// `trivy version` would read.
	meta, err := readDB(inv.set)
	if err != nil {
		return res, err
	}
	db, stale := c.judgeDB(meta.meta, inv.set)
	recordDBSource(&db, meta, inv.set.SkipDBUpdate, out.downloadedFrom)
	if err := checkDownload(db, scans, inv.set); err != nil {
		return res, err
	}
	res.Facts[FactDB] = db
	if stale != nil {
		findings = append([]checks.Finding{*stale}, findings...)
	}

	res.Findings = findings
	res.Status = checks.StatusPass
	if len(findings) > 0 {
		res.Status = checks.StatusFail
	}
	res.Summary = summary(scans, total, db, stale != nil)
	return res, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// findTrivy locates the binary: the configured path or name, else "trivy"
// on PATH.
func (c *Check) findTrivy() (string, error) {
	name := c.opts.Trivy
	if name == "" {
		name = "trivy"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if name == "trivy" {
			return "", fmt.Errorf("trivy is not installed (not found on PATH); %s, or point trivy: / --trivy at it", installTrivy)
		}
		return "", fmt.Errorf("trivy binary %s was not found or is not executable; fix trivy: / --trivy, or %s", name, installTrivy)
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// runFailure explains why a trivy process did not finish.
func runFailure(ctx context.Context, what string, err error) error {
	switch {
	case errors.Is(err, procexec.ErrNotFound):
		return fmt.Errorf("%s: trivy could not be started: %v", what, err)
	case ctx.Err() != nil:
		// The runner turns this into "timed out after …".
		return fmt.Errorf("%s was killed (with its children) when the check's time ran out: %w", what, ctx.Err())
	case errors.Is(err, procexec.ErrDied):
		_, sig, _ := strings.Cut(err.Error(), " died: ")
		return fmt.Errorf("trivy crashed (%s) during %s", sig, what)
	default:
		return fmt.Errorf("%s: %v", what, err)
	}
}

// resolve turns every configured image into digest-pinned targets.
func (c *Check) resolve(ctx context.Context, work string) ([]target, error) {
	r := &resolver{remote: c.deps.Remote, insecure: c.opts.Insecure, work: work}
	for _, p := range c.opts.Platforms {
		pl, _ := parsePlatform(p)
		r.platforms = append(r.platforms, pl)
	}
	var out []target
	seen := map[string]bool{}
	add := func(ts []target) {
		for _, t := range ts {
			// The same image reached twice (a tag and its digest, an index
			// and a single image in one layout) is scanned once.
			if k := t.Name + "@" + t.Digest; !seen[k] {
				seen[k] = true
				out = append(out, t)
			}
		}
	}
	for _, ref := range c.opts.Images {
		ts, err := r.registry(ctx, ref)
		if err != nil {
			return nil, err
		}
		add(ts)
	}
	for _, p := range c.opts.Inputs {
		ts, err := r.tarball(p)
		if err != nil {
			return nil, err
		}
		add(ts)
	}
	for _, p := range c.opts.OCILayouts {
		ts, err := r.layout(p)
		if err != nil {
			return nil, err
		}
		add(ts)
	}
	return out, nil
}

type scanned struct {
	scans    []ScanFact
	findings []checks.Finding
	// downloadedFrom is the DB repository trivy downloaded its DB from
	// during these scans, "" when it used the DB already in its cache.
	downloadedFrom string
	// versions are the trivy versions the reports name ("" for a trivy
	// that predates the report field, trivy PR #10065).
	versions []string
	err      error
}

// scanAll scans the targets one after another: trivy processes sharing a
// cache dir would contend for it, and one scan at a time keeps the load of
// a release gate predictable.
func (c *Check) scanAll(ctx context.Context, inv *invocation, reportDir string, targets []target) scanned {
	var out scanned
	for i, t := range targets {
		vex, sources, err := vexFor(inv.vex, t, inv.work, i)
		if err != nil {
			out.err = err
			return out
		}
		t.VEX, t.VEXSource = vex, sources
		sf, fs, rep, err := c.scan(ctx, inv, reportDir, i, t)
		if err != nil {
			out.err = err
			return out
		}
		out.versions = append(out.versions, rep.version)
		stderr := rep.stderr
		if repo := downloadedDBRepo(stderr, inv.set.DBRepositories); repo != "" {
			out.downloadedFrom = repo
		}
		out.scans = append(out.scans, sf)
		out.findings = append(out.findings, fs...)
	}
	return out
}

// scanRun is what one trivy run says besides its findings.
type scanRun struct {
	// version is the trivy version the report names, if it does.
	version string
	// stderr is trivy's log, where it says which DB it downloaded.
	stderr []byte
}

// scan runs trivy on one target and turns its report into findings.
func (c *Check) scan(ctx context.Context, inv *invocation, reportDir string, i int, t target) (ScanFact, []checks.Finding, scanRun, error) {
	args := inv.scanArgs(ctx, t)
	sf := ScanFact{ImageScan: evidence.ImageScan{
		Reference: t.Reference, Source: t.Source, Name: t.Name, Digest: t.Digest, DigestKind: t.DigestKind,
		ImageID: t.ImageID, Platform: t.Platform, Command: append([]string{inv.bin}, args...),
		StartedAt: c.deps.Now().UTC(),
	}}
	out, err := c.deps.Exec(ctx, inv.cmd(args))
	sf.FinishedAt = c.deps.Now().UTC()
	sf.DurationMS = out.Duration.Milliseconds()
	what := t.display()
	if err != nil {
		return sf, nil, scanRun{}, runFailure(ctx, "the trivy scan of "+what, err)
	}
	if out.ExitCode != 0 {
		return sf, nil, scanRun{}, trivyFailure(what, out.ExitCode, out.Stderr, inv.set.CacheDir)
	}
	rep, err := parseReport(out.Stdout)
	if err != nil {
		return sf, nil, scanRun{}, fmt.Errorf("scanning %s: %v", what, err)
	}
	// Fail closed: a report that does not name the resolved image (no
	// ImageID, another ImageID, another manifest) is not a scan of it.
	if err := tieReport(out.Stdout, t); err != nil {
		return sf, nil, scanRun{}, fmt.Errorf("trivy's report for %s cannot be tied to the image that was resolved: %v; refusing to record it as a scan of that image", what, err)
	}
	sum := sha256.Sum256(out.Stdout)
	sf.ReportSHA256 = hex.EncodeToString(sum[:])
	sf.ReportPath = filepath.Join(reportDir, fmt.Sprintf("trivy-%02d-%s.json", i+1, strings.ReplaceAll(shortDigest(t.Digest), ":", "-")))
	if err := os.WriteFile(sf.ReportPath, out.Stdout, 0o644); err != nil {
		return sf, nil, scanRun{}, fmt.Errorf("save trivy's report for %s: %w", what, err)
	}
	if c.opts.SBOM != "" {
		if sf.SBOM, err = c.sbom(ctx, inv, sf.ReportPath, t); err != nil {
			return sf, nil, scanRun{}, err
		}
	}
	if rep.Metadata.OS == nil && len(rep.Results) == 0 {
		// No operating system and no package found: trivy looked at
		// nothing, which must not read as "no vulnerabilities".
		return sf, nil, scanRun{}, fmt.Errorf("trivy found no operating system and no packages in %s, so nothing was scanned; check that the image is what you meant to release", what)
	}
	if osInfo := rep.Metadata.OS; osInfo != nil {
		sf.OS = strings.TrimSpace(osInfo.Family + " " + osInfo.Name)
		sf.OSEndOfLife = osInfo.EOSL
	}
	fs, counts, supp := findingsOf(rep, t, checks.Severity(c.opts.UnknownSeverity))
	for i := range supp {
		// trivy names the per-image copy it read; record the document
		// readiness.yaml configures.
		if src, ok := t.VEXSource[supp[i].Source]; ok {
			supp[i].Source = src
		}
	}
	sf.Counts, sf.Suppressed = counts, supp
	return sf, fs, scanRun{version: rep.Trivy.Version, stderr: out.Stderr}, nil
}

// judgeDB reports the DB and a SCAN-DB-STALE finding when it is too old.
func (c *Check) judgeDB(m dbMetadata, set Settings) (DBFact, *checks.Finding) {
	o := c.opts
	now := c.deps.Now()
	age := now.Sub(m.UpdatedAt)
	db := DBFact{
		ScanDB: evidence.ScanDB{
			SchemaVersion: m.Version, UpdatedAt: m.UpdatedAt.UTC(), NextUpdate: m.NextUpdate.UTC(), DownloadedAt: m.DownloadedAt.UTC(),
			MaxAgeHours: roundTenth(o.DBMaxAge.D().Hours()), Repository: slices.Clone(set.DBRepositories),
		},
		AgeHours: roundTenth(age.Hours()), SkipUpdate: o.SkipDBUpdate, CacheDir: set.CacheDir,
	}
	if age <= o.DBMaxAge.D() {
		return db, nil
	}
	db.Stale = true
	how := "let trivy update it (remove skip_db_update)"
	if o.SkipDBUpdate {
		how = fmt.Sprintf("refresh the offline cache (trivy image --download-db-only --cache-dir %s)", set.CacheDir)
	}
	f := book.Finding(RuleDBStale, "", fmt.Sprintf("trivy's vulnerability DB was last updated %s ago (%s), more than the %s db_max_age allows; CVEs published since are invisible to this scan",
		humanAge(age), m.UpdatedAt.UTC().Format(time.RFC3339), humanAge(o.DBMaxAge.D())), nil)
	f.Remediation = "Scan with a fresh DB: " + how + ", then run the check again." // the table's advice, for this check's settings
	f = f.With(map[string]any{
		"updated_at": m.UpdatedAt.UTC().Format(time.RFC3339), "age_hours": db.AgeHours, "max_age_hours": db.MaxAgeHours,
	})
	return db, &f
}

func roundTenth(f float64) float64 {
	return float64(int64(f*10+0.5)) / 10
}

// humanAge renders 150h as "6d6h".
func humanAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	h := int64(d.Hours())
	switch {
	case h >= 24 && h%24 != 0:
		return fmt.Sprintf("%dd%dh", h/24, h%24)
	case h >= 24:
		return fmt.Sprintf("%dd", h/24)
	case h >= 1:
		return fmt.Sprintf("%dh", h)
	default:
		return d.Round(time.Minute).String()
	}
}

func summary(scans []ScanFact, c Counts, db DBFact, stale bool) string {
	images := map[string]bool{}
	for _, s := range scans {
		images[s.Reference] = true
	}
	s := fmt.Sprintf("scanned %d image(s), %d digest(s): %d critical, %d high, %d medium, %d low, %d unknown; DB %s old",
		len(images), len(scans), c.Critical, c.High, c.Medium, c.Low, c.Unknown, humanAge(time.Duration(db.AgeHours*float64(time.Hour))))
	if stale {
		s += " (stale)"
	}
	// Suppressed findings are part of the verdict's story: every report
	// that shows the summary names them.
	var supp []string
	for _, sc := range scans {
		for _, sp := range sc.Suppressed {
			what := sp.Finding + " (" + firstNonEmpty(sp.Status, "suppressed")
			if sp.Statement != "" {
				what += ": " + sp.Statement
			}
			supp = append(supp, what+"; by "+orUnnamed(sp.Source)+")")
		}
	}
	if len(supp) > 0 {
		s += fmt.Sprintf("; %d suppressed: %s", len(supp), shorten(strings.Join(supp, ", "), 800))
	}
	return s
}

// withheldEnv lists the names of the TRIVY_* variables in environ, which
// trivy was not given.
func withheldEnv(environ []string) []string {
	var names []string
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(strings.ToUpper(k), "TRIVY_") {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

// tieReport checks that a raw trivy report is of target t.
func tieReport(report []byte, t target) error {
	id, err := trivyreport.ReadIdentity(report)
	if err != nil {
		return err
	}
	return id.Check(wantOf(t.ImageScanIdentity()))
}

// wantOf is what a report of scan s must say.
func wantOf(s evidence.ImageScan) trivyreport.Want {
	w := trivyreport.Want{ImageID: s.ImageID, Registry: s.Source == SourceRegistry}
	if s.DigestKind == DigestManifest {
		w.Digest = s.Digest
	}
	return w
}
