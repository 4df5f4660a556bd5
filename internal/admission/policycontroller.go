package admission

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The ClusterImagePolicy (policy.sigstore.dev/v1beta1) as far as this
// package writes it; field names are policy-controller's.
type cip struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   metadata `yaml:"metadata"`
	Spec       cipSpec  `yaml:"spec"`
}

type metadata struct {
	Name        string            `yaml:"name"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

type cipSpec struct {
	Images      []cipGlob      `yaml:"images"`
	Mode        string         `yaml:"mode"`
	Authorities []cipAuthority `yaml:"authorities"`
	Policy      *cipPolicy     `yaml:"policy"`
}

type cipGlob struct {
	Glob string `yaml:"glob"`
}

type cipAuthority struct {
	Name         string           `yaml:"name"`
	Key          *cipKey          `yaml:"key,omitempty"`
	Keyless      *cipKeyless      `yaml:"keyless,omitempty"`
	CTLog        *cipTLog         `yaml:"ctlog,omitempty"`
	Attestations []cipAttestation `yaml:"attestations,omitempty"`
}

type cipKey struct {
	Data          string `yaml:"data"`
	HashAlgorithm string `yaml:"hashAlgorithm"`
}

type cipKeyless struct {
	URL        string        `yaml:"url"`
	Identities []cipIdentity `yaml:"identities"`
}

type cipIdentity struct {
	Issuer        string `yaml:"issuer,omitempty"`
	IssuerRegExp  string `yaml:"issuerRegExp,omitempty"`
	Subject       string `yaml:"subject,omitempty"`
	SubjectRegExp string `yaml:"subjectRegExp,omitempty"`
}

type cipTLog struct {
	URL string `yaml:"url"`
}

type cipAttestation struct {
	Name          string     `yaml:"name"`
	PredicateType string     `yaml:"predicateType"`
	Policy        *cipPolicy `yaml:"policy"`
}

type cipPolicy struct {
	Type string `yaml:"type"`
	Data string `yaml:"data"`
}

// Authority and attestation names; the CIP-level policy refers to them.
const (
	pcSignatureAuthority = "readiness-signature"
	pcEvidenceAuthority  = "readiness-evidence"
	pcEvidenceName       = "readiness-evidence"
)

// clusterImagePolicy builds the policy-controller document. An authority
// with attestations verifies only attestations, so the image signature is
// a second authority; policy-controller admits when any one authority
// matches, so the CIP-level policy demands both.
func clusterImagePolicy(o Options) (*cip, error) {
	sf, err := signerOf(o)
	if err != nil {
		return nil, err
	}
	auth := func(name string) cipAuthority {
		a := cipAuthority{Name: name}
		if len(o.KeyPEM) > 0 {
			a.Key = &cipKey{Data: strings.TrimSpace(string(o.KeyPEM)) + "\n", HashAlgorithm: "sha256"}
		} else {
			a.Keyless = &cipKeyless{URL: o.FulcioURL, Identities: []cipIdentity{{
				Issuer: o.CertOIDCIssuer, IssuerRegExp: o.CertOIDCIssuerRegexp,
				Subject: o.CertIdentity, SubjectRegExp: o.CertIdentityRegexp,
			}}}
		}
		// Without ctlog, policy-controller skips the transparency log for a
		// key (IgnoreTlog); with it, the signature must be in that log.
		if !o.IgnoreTlog {
			a.CTLog = &cipTLog{URL: o.RekorURL}
		}
		return a
	}
	sig := auth(pcSignatureAuthority)
	ev := auth(pcEvidenceAuthority)
	ev.Attestations = []cipAttestation{{
		Name:          pcEvidenceName,
		PredicateType: EvidencePredicateType,
		Policy:        &cipPolicy{Type: "rego", Data: evidenceRego(o, sf)},
	}}
	globs := make([]cipGlob, 0, len(o.Images))
	for _, g := range o.Images {
		globs = append(globs, cipGlob{Glob: g})
	}
	return &cip{
		APIVersion: "policy.sigstore.dev/v1beta1",
		Kind:       "ClusterImagePolicy",
		Metadata:   metadata{Name: o.Name},
		Spec: cipSpec{
			Images:      globs,
			Mode:        "enforce",
			Authorities: []cipAuthority{sig, ev},
			Policy:      &cipPolicy{Type: "rego", Data: bothRego},
		},
	}, nil
}

// bothRego is the CIP-level policy: the signature authority and the
// evidence authority must both have matched.
var bothRego = fmt.Sprintf(`package sigstore

import rego.v1

# Both authorities must match: a signature on the image, and an evidence
# attestation that passed its own policy.
default isCompliant := false

isCompliant if {
	count(input.authorityMatches[%[1]q].signatures) > 0
	count(input.authorityMatches[%[2]q].attestations[%[3]q]) > 0
}
`, pcSignatureAuthority, pcEvidenceAuthority, pcEvidenceName)

// regoString quotes s as a Rego string literal (JSON's syntax is Rego's).
func regoString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// evidenceRego is the attestation policy. policy-controller hands it the
// verified in-toto statement (subject and predicate) and evaluates
// data.sigstore.isCompliant; cosign has already checked that a subject is
// the admitted digest. Every check is a defaulted boolean, so a missing or
// malformed field refuses and never leaves a failure unsaid.
func evidenceRego(o Options, sf signerFact) string {
	var signer string
	switch {
	case sf.Fingerprint != "":
		signer = fmt.Sprintf("signer_ok if input.predicate.signer.fingerprint == %s\n", regoString(sf.Fingerprint))
	default:
		id := "input.predicate.signer.certificate_identity == " + regoString(sf.Identity)
		if sf.IdRe != "" {
			id = "regex.match(" + regoString(sf.IdRe) + ", input.predicate.signer.certificate_identity)"
		}
		iss := "input.predicate.signer.certificate_issuer == " + regoString(sf.Issuer)
		if sf.IssuerRe != "" {
			iss = "regex.match(" + regoString(sf.IssuerRe) + ", input.predicate.signer.certificate_issuer)"
		}
		signer = fmt.Sprintf("signer_ok if {\n\tinput.predicate.signer.mode == \"keyless\"\n\t%s\n\t%s\n}\n", id, iss)
	}
	return fmt.Sprintf(`package sigstore

import rego.v1

# Written by readiness admission policy: the checks of readiness image verify.
predicate_type := %[1]s

max_age_ns := %[2]d # %[3]s

max_skew_ns := %[4]d # %[5]s: a signer's clock ahead of the cluster's

default type_ok := false

type_ok if input.predicateType == predicate_type

default go_ok := false

go_ok if {
	input.predicate.verdict == "GO"
	input.predicate.evidence.verdict.decision == "GO"
}

default not_interrupted := false

not_interrupted if {
	is_object(input.predicate.evidence)
	not input.predicate.evidence.interrupted
}

# cosign has checked that a subject is the admitted digest; every subject
# must be the digest the predicate is about, and its evidence must have
# scanned that digest.
default digest_ok := false

digest_ok if {
	count(input.subject) > 0
	every s in input.subject {
		concat("", ["sha256:", s.digest.sha256]) == input.predicate.image.digest
	}
	some d in input.predicate.evidence.subjects
	d.digest == input.predicate.image.digest
}

default fresh := false

fresh if {
	t := time.parse_rfc3339_ns(input.predicate.generated_at)
	t == time.parse_rfc3339_ns(input.predicate.evidence.generated_at)
	age := time.now_ns() - t
	age <= max_age_ns
	age >= 0 - max_skew_ns
}

default signer_ok := false

%[6]s
failures contains "the attestation is not readiness evidence" if not type_ok

failures contains "the attested verdict is not GO" if not go_ok

failures contains "the evidence comes from an interrupted run" if not not_interrupted

failures contains "the evidence is about another digest" if not digest_ok

failures contains %[7]s if not fresh

failures contains "the evidence names another signer" if not signer_ok

default compliant := false

compliant if count(failures) == 0

isCompliant := [{"result": compliant, "error": concat("; ", sort(failures))}]
`, regoString(EvidencePredicateType), o.MaxAge.Nanoseconds(), o.MaxAge, maxSkew.Nanoseconds(), maxSkew, signer,
		regoString(fmt.Sprintf("the evidence is older than %s, or dated in the future", o.MaxAge)))
}
