// Package checks defines what a release gate reports: the Check interface,
// its Result, Findings and Rules, and the runner that executes checks
// concurrently. A check gathers evidence; it never decides the verdict.
package checks

import (
	"context"
	"strconv"
	"time"
)

// Status is what a check could establish.
type Status string

const (
	// StatusPass means the check ran and found nothing.
	StatusPass Status = "pass"
	// StatusFail means the check ran and produced findings.
	StatusFail Status = "fail"
	// StatusError means the check could not establish anything (it errored,
	// panicked, timed out, or a tool it needs is missing). Never a GO.
	StatusError Status = "error"
	// StatusSkipped means the check did not run.
	StatusSkipped Status = "skipped"
)

// Severity of a finding, ordered from most to least severe.
type Severity string

const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityInfo     Severity = "info"
)

// Severities lists every severity, most severe first.
var Severities = []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}

// Rank orders severities: critical is 0, info is 4, unknown sorts last.
func (s Severity) Rank() int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return len(Severities)
}

// Valid reports whether s is one of the known severities.
func (s Severity) Valid() bool { return s.Rank() < len(Severities) }

// Location points at the place a finding is about.
type Location struct {
	Path string `json:"path"`
	Line int    `json:"line,omitempty"`
	// Column is 1-based where known.
	Column int `json:"column,omitempty"`
}

// String renders path:line, or just path when the line is unknown.
func (l *Location) String() string {
	if l == nil || l.Path == "" {
		return ""
	}
	if l.Line > 0 {
		return l.Path + ":" + strconv.Itoa(l.Line)
	}
	return l.Path
}

// Finding is one observation a check makes. Its Rule is stable across runs
// (KEY-EXPIRED); its ID identifies this one occurrence so that a waiver can
// target it (SCAN-CRITICAL-VULN/CVE-2024-0001/openssl).
type Finding struct {
	Rule        string    `json:"rule"`
	ID          string    `json:"id"`
	Severity    Severity  `json:"severity"`
	Message     string    `json:"message"`
	Remediation string    `json:"remediation,omitempty"`
	Location    *Location `json:"location,omitempty"`
	// Properties carry rule-specific detail (CVE, package, versions, URL…).
	Properties map[string]any `json:"properties,omitempty"`
	// WaivedBy names the waiver that covers this finding, set by the waiver
	// step, never by a check.
	WaivedBy string `json:"waived_by,omitempty"`
}

// Result is everything one check reports.
type Result struct {
	Check    string `json:"name"`
	Type     string `json:"type"`
	Required bool   `json:"required"`
	// BlockOn overrides the policy's blocking severities for this check.
	BlockOn  []Severity `json:"block_on,omitempty"`
	Status   Status     `json:"status"`
	Summary  string     `json:"summary,omitempty"`
	Error    string     `json:"error,omitempty"`
	Findings []Finding  `json:"findings"`
	// Facts are raw observations a custom policy can judge.
	Facts map[string]any `json:"facts,omitempty"`
	// Subjects are the artifacts this check examined, by digest (the image
	// digests image-scan scanned), so a signature can be tied to them.
	Subjects   []Subject `json:"subjects,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
}

// Check is one release gate. Run gathers evidence and returns it; an error
// means nothing could be established and becomes status "error".
type Check interface {
	Run(ctx context.Context) (Result, error)
}

// CheckFunc adapts a function to the Check interface.
type CheckFunc func(ctx context.Context) (Result, error)

// Run calls f.
func (f CheckFunc) Run(ctx context.Context) (Result, error) { return f(ctx) }

// Rule documents one finding rule for `readiness explain` and SARIF.
type Rule struct {
	ID          string   `yaml:"id" json:"id"`
	Title       string   `yaml:"title" json:"title"`
	Severity    Severity `yaml:"severity" json:"severity"`
	Description string   `yaml:"description" json:"description"`
	Remediation string   `yaml:"remediation" json:"remediation"`
	// Cases are named circumstances of the rule that carry another
	// severity (KEY-EXPIRING-SOON within the blocking window is high where
	// the rule is medium). The gate names the case; the table grades it.
	Cases map[string]Severity `yaml:"cases,omitempty" json:"cases,omitempty"`
	// CaseRemediation is a case's own remedy where the rule's does not fit
	// it (WF-SIGN-BEFORE-SCAN's "scan the image" for a signed checksum
	// file); a case without one takes the rule's.
	CaseRemediation map[string]string `yaml:"case_remediation,omitempty" json:"case_remediation,omitempty"`
}

// Subject is an artifact identified by digest, as in-toto names them.
type Subject struct {
	Name   string `json:"name"`
	Digest string `json:"digest"` // "sha256:…"
	// Platform is os/arch[/variant] for one image of a multi-platform index.
	Platform string `json:"platform,omitempty"`
}
