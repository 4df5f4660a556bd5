package sign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign/attestation"

	"github.com/readiness-dev/readiness/internal/buildinfo"
	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
)

type checksSubject = checks.Subject

// Predicate types this package writes.
const (
	// EvidencePredicateType is readiness's own: the evidence document of
	// the run that said GO. See docs/attestation.md.
	EvidencePredicateType = "https://readiness.dev/attestation/evidence/v1"
	// VulnPredicateType is cosign's vulnerability-scan predicate.
	VulnPredicateType = attestation.CosignVulnProvenanceV01
)

// EvidencePredicate is the body of the evidence attestation. The top-level
// verdict and time repeat the document's so that an admission policy can
// judge them without reading the whole document.
type EvidencePredicate struct {
	Verdict     string    `json:"verdict"`
	GeneratedAt time.Time `json:"generated_at"`
	Image       Target    `json:"image"`
	Signer      Identity  `json:"signer"`
	// Scanner is who gathered the evidence, when it was carried to the
	// signer in a signed envelope: the key that signed the bundle. Absent
	// when the signer ran the gates itself.
	Scanner *Identity      `json:"scanner,omitempty"`
	Tool    buildinfo.Info `json:"tool"`
	// Evidence is the complete evidence document (readiness.dev/evidence/v1).
	Evidence json.RawMessage `json:"evidence"`
}

// NewEvidencePredicate wraps a GO evidence document about t.
func NewEvidencePredicate(doc *evidence.Document, t *Target, signer Identity) (*EvidencePredicate, error) {
	var buf bytes.Buffer
	if err := doc.Encode(&buf); err != nil {
		return nil, fmt.Errorf("encode evidence: %w", err)
	}
	return &EvidencePredicate{
		Verdict:     doc.Verdict.Decision,
		GeneratedAt: doc.GeneratedAt,
		Image:       *t,
		Signer:      signer,
		Tool:        doc.Tool,
		Evidence:    json.RawMessage(bytes.TrimSpace(buf.Bytes())),
	}, nil
}

// DecodeEvidencePredicate reads a predicate and the evidence document in
// it, strictly: an unknown schema or a mismatch between the summary and
// the document is an error.
func DecodeEvidencePredicate(raw []byte) (*EvidencePredicate, *evidence.Document, error) {
	var p EvidencePredicate
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, nil, fmt.Errorf("evidence predicate: %w", err)
	}
	if len(p.Evidence) == 0 {
		return nil, nil, errors.New("evidence predicate carries no evidence document")
	}
	doc, err := evidence.Decode(bytes.NewReader(p.Evidence))
	if err != nil {
		return nil, nil, err
	}
	if p.Verdict != doc.Verdict.Decision || !p.GeneratedAt.Equal(doc.GeneratedAt) {
		return nil, nil, errors.New("evidence predicate's verdict or time disagrees with its document")
	}
	return &p, doc, nil
}

// VulnPredicate is cosign's vulnerability attestation predicate
// (https://cosign.sigstore.dev/attestation/vuln/v1), as trivy's
// `--format cosign-vuln` writes it, with the fields trivy leaves empty
// filled in: the scanner DB's version and times, and the real scan start
// and finish. The extra DB fields are additions cosign's type ignores.
type VulnPredicate struct {
	Invocation VulnInvocation `json:"invocation"`
	Scanner    VulnScanner    `json:"scanner"`
	Metadata   VulnMetadata   `json:"metadata"`
}

// VulnInvocation says what ran the scan.
type VulnInvocation struct {
	Parameters any    `json:"parameters"`
	URI        string `json:"uri"`
	EventID    string `json:"event_id"`
	BuilderID  string `json:"builder.id"`
}

// VulnScanner names the scanner, its DB, and carries its raw report.
type VulnScanner struct {
	URI     string          `json:"uri"`
	Version string          `json:"version"`
	DB      VulnDB          `json:"db"`
	Result  json.RawMessage `json:"result"`
}

// VulnDB describes the vulnerability database the scan used.
type VulnDB struct {
	URI     string `json:"uri"`
	Version string `json:"version"`
	// UpdatedAt is when the DB was built; NextUpdate when trivy would
	// fetch a newer one; DownloadedAt when this copy was fetched.
	UpdatedAt    *time.Time `json:"updatedAt,omitempty"`
	NextUpdate   *time.Time `json:"nextUpdate,omitempty"`
	DownloadedAt *time.Time `json:"downloadedAt,omitempty"`
}

// VulnMetadata holds the real scan times.
type VulnMetadata struct {
	ScanStartedOn  time.Time `json:"scanStartedOn"`
	ScanFinishedOn time.Time `json:"scanFinishedOn"`
}

// Invocation describes the run that produced an attestation (a CI run),
// for the vulnerability predicate's invocation block.
type Invocation struct {
	URI       string
	EventID   string
	BuilderID string
}
