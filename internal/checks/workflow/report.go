package workflow

import "github.com/readiness-dev/readiness/internal/checks"

// Report is what Analyze establishes about a repository's workflows.
type Report struct {
	// Root is the repository root the paths below are relative to.
	Root string `json:"-"`
	// Dir is the workflows directory, relative to Root.
	Dir       string         `json:"dir"`
	Workflows []WorkflowInfo `json:"workflows"`
	// Signings are every signing or attesting step, each with the scans
	// that run before it and the decision reached.
	Signings []Signing `json:"signing_steps"`
	// Scans are every vulnerability-scanning step seen.
	Scans    []ScanStep       `json:"scan_steps"`
	Findings []checks.Finding `json:"-"`
	// ActionlintFindings counts the WF-ACTIONLINT findings.
	ActionlintFindings int `json:"actionlint_findings"`
	// Remote are the remote reusable workflows read (or not) through
	// Config.Reusable, with the ref, whether it is pinned, and a sha256.
	Remote []RemoteRead `json:"remote_workflows,omitempty"`
}

// WorkflowInfo summarises one workflow file.
type WorkflowInfo struct {
	Path     string   `json:"path"`
	Name     string   `json:"name,omitempty"`
	Triggers []string `json:"on,omitempty"`
	// Jobs maps each job (reusable calls expanded as caller/inner) to the
	// jobs it needs directly.
	Jobs map[string][]string `json:"jobs,omitempty"`
	// Calls lists the reusable workflows it calls.
	Calls []string `json:"calls,omitempty"`
	// CalledBy is set for a reusable workflow analysed through its callers.
	CalledBy []string `json:"called_by,omitempty"`
	Signing  int      `json:"signing_steps"`
	Scanning int      `json:"scan_steps"`
	// Error says why the file could not be analysed.
	Error string `json:"error,omitempty"`
}

// StepRef locates one step and the command in it.
type StepRef struct {
	// Workflow is the top-level workflow the step runs in; Path:Line is
	// where the step (or the command inside it) is written, which differs
	// from Workflow for reusable workflows and composite actions.
	Workflow string `json:"workflow"`
	Job      string `json:"job"`
	Step     string `json:"step"`
	Path     string `json:"path"`
	Line     int    `json:"line"`
	// Script is file:line when the command is in a local script the step runs.
	Script string `json:"script,omitempty"`
	// Tool is what the step runs ("cosign sign", "aquasecurity/trivy-action" …).
	Tool string `json:"tool"`
	// Target is the image or path, with env and step outputs resolved as
	// far as the workflow shows them.
	Target string `json:"target,omitempty"`
}

// Location renders path:line.
func (r StepRef) Location() string {
	l := checks.Location{Path: r.Path, Line: r.Line}
	return l.String()
}

// ScanStep is one vulnerability scan.
type ScanStep struct {
	StepRef
	// Blocking is whether a failed scan fails its job (tool exit code and
	// shell, continue-on-error, if:). Reasons say why not.
	Blocking bool     `json:"blocking"`
	Reasons  []string `json:"reasons,omitempty"`
	// Severities are those that make the scan fail; empty means all.
	Severities []string `json:"severities,omitempty"`
}

// Signing is one signing or attesting step and what runs before it.
type Signing struct {
	StepRef
	// Decision: "gated" (a blocking scan of the same image runs before
	// it), "self-gated" (readiness image release, which scans first), or
	// "not-gated".
	Decision string `json:"decision"`
	// Gate is the scan judged to guard the signing, when there is one.
	Gate *ScanStep `json:"gate,omitempty"`
	// Preceding are all scans that run before the signing.
	Preceding []ScanStep `json:"preceding_scans,omitempty"`
	// Rules are the rule IDs of the findings raised for this step.
	Rules []string `json:"rules,omitempty"`
}
