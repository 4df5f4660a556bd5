// Package evidence defines the evidence document: everything a run saw, the
// waivers applied, and the verdict. It is what `check --format json` prints,
// what `policy eval` re-judges, and what `image release` attests.
package evidence

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/readiness-dev/readiness/internal/buildinfo"
	"github.com/readiness-dev/readiness/internal/checks"
)

// Schema identifies this version of the document. v2 added the verdict's
// per-gate status (Verdict.Checks).
const Schema = "readiness.dev/evidence/v2"

// SchemaV1 is the previous version, still read: signed attestations in
// registries carry it. Decode upgrades it in memory (see upgradeV1).
const SchemaV1 = "readiness.dev/evidence/v1"

// Decisions.
const (
	GO   = "GO"
	NOGO = "NO-GO"
)

// Document is the evidence of one run.
type Document struct {
	Schema      string         `json:"schema"`
	Tool        buildinfo.Info `json:"tool"`
	GeneratedAt time.Time      `json:"generated_at"`
	Repository  *Repository    `json:"repository,omitempty"`
	Config      ConfigRef      `json:"config"`
	Settings    Settings       `json:"settings"`
	Only        []string       `json:"only,omitempty"`
	// NotRun lists the configured checks this run left out (--only, a
	// single-gate command): a GO then covers only what ran.
	NotRun      []CheckRef `json:"not_run,omitempty"`
	Interrupted bool       `json:"interrupted,omitempty"`
	// Coverage compares the gates configured with the gates the repository
	// calls for, so that a GO says what it covered.
	Coverage *Coverage        `json:"coverage,omitempty"`
	Checks   []checks.Result  `json:"checks"`
	Subjects []checks.Subject `json:"subjects,omitempty"`
	Waivers  []WaiverStatus   `json:"waivers"`
	Verdict  Verdict          `json:"verdict"`
}

// Repository is where the run happened, when it is a git checkout.
type Repository struct {
	Root   string `json:"root,omitempty"`
	Remote string `json:"remote,omitempty"`
	Commit string `json:"commit,omitempty"`
	Branch string `json:"branch,omitempty"`
	Dirty  bool   `json:"dirty,omitempty"`
	// Unknown says what could not be read (a damaged .git, an unreadable
	// HEAD, a working tree too slow to read); the policy warns REPO-UNKNOWN.
	Unknown string `json:"unknown,omitempty"`
}

// ConfigRef names the configuration a run used.
type ConfigRef struct {
	Path   string `json:"path,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// Settings are policy inputs taken from readiness.yaml.
type Settings struct {
	BlockOn []string `json:"block_on"`
}

// WaiverStatus is one configured waiver as judged at GeneratedAt.
type WaiverStatus struct {
	ID      string `json:"id"`
	Check   string `json:"check,omitempty"`
	Reason  string `json:"reason"`
	Owner   string `json:"owner"`
	Expires string `json:"expires"`
	// State is active, expiring (within the warning window) or expired.
	State    string   `json:"state"`
	DaysLeft int      `json:"days_left"`
	Matched  []string `json:"matched"`
	Location string   `json:"location,omitempty"`
}

// Waiver states.
const (
	WaiverActive   = "active"
	WaiverExpiring = "expiring"
	WaiverExpired  = "expired"
)

// Verdict is what the policy decided.
type Verdict struct {
	Decision string    `json:"decision"`
	Summary  string    `json:"summary"`
	Deny     []Message `json:"deny"`
	Warn     []Message `json:"warn"`
	// PolicyError is set when the policy could not be evaluated; the
	// decision is then NO-GO.
	PolicyError string   `json:"policy_error,omitempty"`
	Policies    []string `json:"policies,omitempty"`
	// PolicySet is the policy the verdict was judged with; re-judging
	// must load at least this set.
	PolicySet *PolicySet `json:"policy_set,omitempty"`
	// Checks is every configured check's status under this verdict, in
	// document order, then the checks left out; see Document.Gates.
	Checks []GateStatus `json:"checks"`
}

// GateStatus is one check as the verdict judged it: what its badge says in
// every report. Status is one of the Gate* constants.
type GateStatus struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Status string `json:"status"`
	// Blocking and Warnings count the deny and warn messages naming it.
	Blocking int `json:"blocking"`
	Warnings int `json:"warnings"`
}

// Gate statuses. A check reports what it found (checks.Status: pass, fail
// meaning "produced findings", error, skipped); only the policy knows which
// findings block, so a gate's status is derived from the verdict and can
// never be red under GO or green beside a blocker.
const (
	// GatePass: ran, found nothing.
	GatePass = "pass"
	// GateWarn: findings, none blocking (below block_on, or waived).
	GateWarn = "warn"
	// GateFail: at least one deny message names the check.
	GateFail = "fail"
	// GateError: the check could not establish anything.
	GateError = "error"
	// GateSkipped: the check ran and decided it did not apply.
	GateSkipped = "skipped"
	// GateNotRun: configured, but left out of this run (--only).
	GateNotRun = "not-run"
)

// Gates derives every check's status from the checks' results and the
// verdict's deny and warn messages. Reports call this rather than trust a
// recorded Verdict.Checks, so that a badge cannot disagree with the
// messages beside it.
func (d *Document) Gates() []GateStatus {
	deny, warn := map[string]int{}, map[string]int{}
	for _, m := range d.Verdict.Deny {
		deny[m.Check]++
	}
	for _, m := range d.Verdict.Warn {
		warn[m.Check]++
	}
	out := make([]GateStatus, 0, len(d.Checks)+len(d.NotRun))
	for _, r := range d.Checks {
		g := GateStatus{Name: r.Check, Type: r.Type, Blocking: deny[r.Check], Warnings: warn[r.Check]}
		switch {
		case r.Status == checks.StatusError:
			g.Status = GateError
		case g.Blocking > 0:
			// A required check that skipped blocks: red, not grey.
			g.Status = GateFail
		case r.Status == checks.StatusSkipped:
			g.Status = GateSkipped
		case len(r.Findings) > 0 || g.Warnings > 0:
			g.Status = GateWarn
		default:
			g.Status = GatePass
		}
		out = append(out, g)
	}
	for _, c := range d.NotRun {
		g := GateStatus{Name: c.Name, Type: c.Type, Status: GateNotRun, Blocking: deny[c.Name], Warnings: warn[c.Name]}
		if g.Blocking > 0 {
			g.Status = GateFail // a custom rule blocks on it
		}
		out = append(out, g)
	}
	return out
}

// Gate is the judged status of the named check.
func (d *Document) Gate(name string) GateStatus {
	for _, g := range d.Gates() {
		if g.Name == name {
			return g
		}
	}
	return GateStatus{Name: name, Status: GateNotRun}
}

// CheckRef names a configured check.
type CheckRef struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// PolicySet records the Rego a verdict was judged with.
type PolicySet struct {
	Embedded   EmbeddedPolicy `json:"embedded"`
	Modules    []PolicyModule `json:"modules"`
	Namespaces []string       `json:"namespaces,omitempty"`
}

// EmbeddedPolicy identifies the default policy compiled into readiness.
type EmbeddedPolicy struct {
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// PolicyModule is one user policy file, as loaded.
type PolicyModule struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Message is one deny or warn result. Rules may return a bare string or an
// object with "msg" and metadata, as conftest allows.
type Message struct {
	Msg      string         `json:"msg"`
	Check    string         `json:"check,omitempty"`
	Rule     string         `json:"rule,omitempty"`
	Finding  string         `json:"finding,omitempty"`
	Severity string         `json:"severity,omitempty"`
	Meta     map[string]any `json:"meta,omitempty"`
}

// GO reports whether the verdict is GO.
func (d *Document) GO() bool { return d.Verdict.Decision == GO }

// PartialNote is " (partial: N of M configured checks ran)" when configured
// checks were left out of the run, else "".
func (d *Document) PartialNote() string {
	if len(d.NotRun) == 0 {
		return ""
	}
	ran := len(d.Checks)
	return fmt.Sprintf(" (partial: %d of %d configured checks ran)", ran, ran+len(d.NotRun))
}

// Coverage is which gates a full run had against the ones the repository
// calls for (what `readiness init` would propose) and the ones readiness.yaml
// requires (require:).
type Coverage struct {
	// Configured are the gate types readiness.yaml configures.
	Configured []string `json:"configured"`
	// Uncovered are the gate types called for or required and not
	// configured.
	Uncovered []GateNeed `json:"uncovered,omitempty"`
}

// GateNeed is a gate type a run lacked, and why it was called for.
type GateNeed struct {
	Type string `json:"type"`
	Why  string `json:"why"`
	// Required: readiness.yaml's require: lists it, so its absence blocks.
	Required bool `json:"required,omitempty"`
}

// CoverageNote is " — 2 of 4 gates configured; not configured: tests (a
// unittest suite was found), image-scan (…)" when the run lacked gates the
// repository calls for, else "".
func (d *Document) CoverageNote() string {
	if d.Coverage == nil || len(d.Coverage.Uncovered) == 0 {
		return ""
	}
	var parts []string
	for _, n := range d.Coverage.Uncovered {
		parts = append(parts, fmt.Sprintf("%s (%s)", n.Type, n.Why))
	}
	have := len(d.Coverage.Configured)
	return fmt.Sprintf(" — %d of %d gates configured; not configured: %s", have, have+len(d.Coverage.Uncovered), strings.Join(parts, ", "))
}

// NotRunOfType lists the configured checks of type typ that did not run.
// `image sign --evidence` refuses a document whose image-scan check is here.
func (d *Document) NotRunOfType(typ string) []string {
	var out []string
	for _, c := range d.NotRun {
		if c.Type == typ {
			out = append(out, c.Name)
		}
	}
	return out
}

// CheckSubjects gathers the subjects the checks examined. The document's
// Subjects must equal this; a document read from a file is not trusted to.
func (d *Document) CheckSubjects() []checks.Subject {
	var out []checks.Subject
	for _, r := range d.Checks {
		out = append(out, r.Subjects...)
	}
	return out
}

// Result returns the result of the named check.
func (d *Document) Result(name string) (*checks.Result, bool) {
	for i := range d.Checks {
		if d.Checks[i].Check == name {
			return &d.Checks[i], true
		}
	}
	return nil, false
}

// Encode writes the document as indented JSON.
func (d *Document) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}

// Decode reads a document of this schema version or the previous one,
// which it upgrades in memory: the result is always a v2 document.
func Decode(r io.Reader) (*Document, error) {
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("read evidence: %w", err)
	}
	var probe struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not an evidence document: %s", jsonErr(data, err))
	}
	if probe.Schema == nil {
		return nil, fmt.Errorf("not an evidence document: no \"schema\" field (want %q)", Schema)
	}
	if *probe.Schema != Schema && *probe.Schema != SchemaV1 {
		return nil, fmt.Errorf("evidence schema %q is not supported; this build reads %q and %q", *probe.Schema, Schema, SchemaV1)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("evidence document does not match %s: %s", *probe.Schema, jsonErr(data, err))
	}
	if d.Schema == SchemaV1 {
		if d.Verdict.Checks != nil {
			return nil, fmt.Errorf("evidence document does not match %s: verdict.checks is a %s field", SchemaV1, Schema)
		}
		d.Schema = Schema
	}
	// The gate statuses are a view of the deny and warn messages; a
	// document read from disk is not trusted to have derived them.
	d.Verdict.Checks = d.Gates()
	return &d, nil
}

// jsonErr adds a line number to JSON syntax errors.
func jsonErr(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		return fmt.Sprintf("line %d: %v", line, err)
	}
	return err.Error()
}

// JSONSchema is the JSON Schema (2020-12) of this document version.
//
//go:embed evidence.schema.json
var JSONSchema []byte
