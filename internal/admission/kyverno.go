package admission

import (
	"fmt"
	"strings"
)

// The Kyverno ClusterPolicy (kyverno.io/v1) as far as this package writes
// it; field names are Kyverno's.
type kyvernoDoc struct {
	APIVersion string      `yaml:"apiVersion"`
	Kind       string      `yaml:"kind"`
	Metadata   metadata    `yaml:"metadata"`
	Spec       kyvernoSpec `yaml:"spec"`
}

type kyvernoSpec struct {
	// FailurePolicy Fail: if Kyverno's webhook cannot answer, the API
	// server refuses the pod rather than admitting it unchecked.
	FailurePolicy         string        `yaml:"failurePolicy"`
	WebhookTimeoutSeconds int           `yaml:"webhookTimeoutSeconds"`
	Background            bool          `yaml:"background"`
	Rules                 []kyvernoRule `yaml:"rules"`
}

type kyvernoRule struct {
	Name         string               `yaml:"name"`
	Match        kyvernoMatch         `yaml:"match"`
	VerifyImages []kyvernoVerifyImage `yaml:"verifyImages"`
}

type kyvernoMatch struct {
	Any []kyvernoResourceFilter `yaml:"any"`
}

type kyvernoResourceFilter struct {
	Resources kyvernoResources `yaml:"resources"`
}

type kyvernoResources struct {
	Kinds []string `yaml:"kinds"`
}

type kyvernoVerifyImage struct {
	ImageReferences []string             `yaml:"imageReferences"`
	FailureAction   string               `yaml:"failureAction"`
	MutateDigest    bool                 `yaml:"mutateDigest"`
	VerifyDigest    bool                 `yaml:"verifyDigest"`
	Required        bool                 `yaml:"required"`
	Attestors       []kyvernoAttestorSet `yaml:"attestors"`
	Attestations    []kyvernoAttestation `yaml:"attestations"`
}

type kyvernoAttestorSet struct {
	Entries []kyvernoAttestor `yaml:"entries"`
}

type kyvernoAttestor struct {
	Keys    *kyvernoKeys    `yaml:"keys,omitempty"`
	Keyless *kyvernoKeyless `yaml:"keyless,omitempty"`
}

type kyvernoKeys struct {
	PublicKeys string        `yaml:"publicKeys"`
	Rekor      *kyvernoRekor `yaml:"rekor"`
	CTLog      *kyvernoCTLog `yaml:"ctlog,omitempty"`
}

type kyvernoKeyless struct {
	Subject       string        `yaml:"subject,omitempty"`
	SubjectRegExp string        `yaml:"subjectRegExp,omitempty"`
	Issuer        string        `yaml:"issuer,omitempty"`
	IssuerRegExp  string        `yaml:"issuerRegExp,omitempty"`
	Rekor         *kyvernoRekor `yaml:"rekor"`
}

type kyvernoRekor struct {
	URL        string `yaml:"url,omitempty"`
	IgnoreTlog bool   `yaml:"ignoreTlog,omitempty"`
}

type kyvernoCTLog struct {
	IgnoreSCT bool `yaml:"ignoreSCT"`
}

type kyvernoAttestation struct {
	Type       string                `yaml:"type"`
	Attestors  []kyvernoAttestorSet  `yaml:"attestors"`
	Conditions []kyvernoConditionSet `yaml:"conditions"`
}

// kyvernoConditionSet is one entry of an attestation's conditions: all of
// them must hold.
type kyvernoConditionSet struct {
	All []kyvernoCondition `yaml:"all" json:"all"`
}

// kyvernoCondition is Kyverno's {key, operator, value} condition.
type kyvernoCondition struct {
	Key      string `yaml:"key" json:"key"`
	Operator string `yaml:"operator" json:"operator"`
	Value    any    `yaml:"value" json:"value"`
	Message  string `yaml:"message,omitempty" json:"message,omitempty"`
}

// kyvernoPolicy builds the Kyverno document. verifyImages checks the
// image signature by the attestors and each attestation by its own
// attestors; cosign checks the statement's subject is the admitted digest.
// The conditions see the predicate only (Kyverno puts the predicate, not
// the statement, in their context), and every attestation of the type
// must satisfy them.
func kyvernoPolicy(o Options) (*kyvernoDoc, error) {
	sf, err := signerOf(o)
	if err != nil {
		return nil, err
	}
	attestors := []kyvernoAttestorSet{{Entries: []kyvernoAttestor{kyvernoAttestorOf(o)}}}
	return &kyvernoDoc{
		APIVersion: "kyverno.io/v1",
		Kind:       "ClusterPolicy",
		Metadata: metadata{Name: o.Name, Annotations: map[string]string{
			"policies.kyverno.io/title":       "Only readiness GO digests run",
			"policies.kyverno.io/description": fmt.Sprintf("Admits an image only with a readiness evidence attestation whose verdict is GO for its digest, younger than %s.", o.MaxAge),
		}},
		Spec: kyvernoSpec{
			FailurePolicy:         "Fail",
			WebhookTimeoutSeconds: 30,
			Background:            false,
			Rules: []kyvernoRule{{
				Name:  "readiness-go",
				Match: kyvernoMatch{Any: []kyvernoResourceFilter{{Resources: kyvernoResources{Kinds: []string{"Pod"}}}}},
				VerifyImages: []kyvernoVerifyImage{{
					ImageReferences: o.Images,
					FailureAction:   "Enforce",
					MutateDigest:    true,
					VerifyDigest:    true,
					Required:        true,
					Attestors:       attestors,
					Attestations: []kyvernoAttestation{{
						Type:       EvidencePredicateType,
						Attestors:  attestors,
						Conditions: []kyvernoConditionSet{{All: kyvernoConditions(o.MaxAge.String(), sf)}},
					}},
				}},
			}},
		},
	}, nil
}

func kyvernoAttestorOf(o Options) kyvernoAttestor {
	rekor := &kyvernoRekor{URL: o.RekorURL}
	if o.IgnoreTlog {
		rekor = &kyvernoRekor{IgnoreTlog: true}
	}
	if len(o.KeyPEM) > 0 {
		// A key has no certificate, so no SCT to demand.
		return kyvernoAttestor{Keys: &kyvernoKeys{
			PublicKeys: strings.TrimSpace(string(o.KeyPEM)) + "\n",
			Rekor:      rekor,
			CTLog:      &kyvernoCTLog{IgnoreSCT: true},
		}}
	}
	return kyvernoAttestor{Keyless: &kyvernoKeyless{
		Subject: o.CertIdentity, SubjectRegExp: o.CertIdentityRegexp,
		Issuer: o.CertOIDCIssuer, IssuerRegExp: o.CertOIDCIssuerRegexp,
		Rekor: rekor,
	}}
}

// kyvernoConditions are the attestation conditions over the evidence
// predicate: GO, not interrupted, scanned its own digest, younger than
// maxAge (a Go duration), not dated in the future, named signer.
func kyvernoConditions(maxAge string, sf signerFact) []kyvernoCondition {
	c := []kyvernoCondition{
		{Key: "{{ verdict }}", Operator: "Equals", Value: "GO", Message: "the attested verdict is not GO"},
		{Key: "{{ evidence.verdict.decision }}", Operator: "Equals", Value: "GO", Message: "the evidence's verdict is not GO"},
		{Key: "{{ evidence.interrupted || `false` }}", Operator: "Equals", Value: false, Message: "the evidence comes from an interrupted run"},
		{Key: "{{ contains(evidence.subjects[].digest, image.digest) }}", Operator: "Equals", Value: true, Message: "the evidence did not scan the digest it is about"},
		{Key: "{{ time_since('', generated_at, '') }}", Operator: "DurationLessThanOrEquals", Value: maxAge, Message: "the evidence is older than " + maxAge},
		{Key: "{{ time_since('', generated_at, '') }}", Operator: "DurationGreaterThanOrEquals", Value: "-" + maxSkew.String(), Message: "the evidence is dated in the future"},
		{Key: "{{ time_diff(generated_at, evidence.generated_at) }}", Operator: "Equals", Value: "0s", Message: "the predicate's time disagrees with its evidence"},
	}
	if sf.Fingerprint != "" {
		return append(c, kyvernoCondition{Key: "{{ signer.fingerprint }}", Operator: "Equals", Value: sf.Fingerprint, Message: "the evidence names another signer"})
	}
	c = append(c, kyvernoCondition{Key: "{{ signer.mode }}", Operator: "Equals", Value: "keyless", Message: "the evidence names another signer"})
	if sf.IdRe != "" {
		c = append(c, kyvernoCondition{Key: "{{ regex_match('" + sf.IdRe + "', signer.certificate_identity) }}", Operator: "Equals", Value: true, Message: "the evidence names another signer"})
	} else {
		c = append(c, kyvernoCondition{Key: "{{ signer.certificate_identity }}", Operator: "Equals", Value: sf.Identity, Message: "the evidence names another signer"})
	}
	if sf.IssuerRe != "" {
		c = append(c, kyvernoCondition{Key: "{{ regex_match('" + sf.IssuerRe + "', signer.certificate_issuer) }}", Operator: "Equals", Value: true, Message: "the evidence names another issuer"})
	} else {
		c = append(c, kyvernoCondition{Key: "{{ signer.certificate_issuer }}", Operator: "Equals", Value: sf.Issuer, Message: "the evidence names another issuer"})
	}
	return c
}
