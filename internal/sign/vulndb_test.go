package sign

import (
	"testing"

	"github.com/readiness-dev/readiness/internal/buildinfo"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// The vulnerability attestation names the DB the scan recorded it used,
// never a default repository it may not have come from.
func TestVulnStatementNamesTheDBUsed(t *testing.T) {
	report := []byte(`{"SchemaVersion":2,"ArtifactName":"x","Metadata":{"ImageID":"sha256:aa"},"Results":[]}`)
	tests := []struct {
		name string
		db   evidence.ScanDB
		want string
	}{
		{"downloaded from a mirror", evidence.ScanDB{SchemaVersion: 2, URI: "oci://registry.internal/aquasec/trivy-db:2", Repository: []string{"registry.internal/aquasec/trivy-db:2", "ghcr.io/aquasecurity/trivy-db:2"}}, "oci://registry.internal/aquasec/trivy-db:2"},
		{"the cached DB", evidence.ScanDB{SchemaVersion: 2, URI: "file:///home/ci/.cache/trivy/db/trivy.db", Repository: []string{"mirror.gcr.io/aquasec/trivy-db:2"}}, "file:///home/ci/.cache/trivy/db/trivy.db"},
		{"older evidence that recorded none", evidence.ScanDB{SchemaVersion: 2}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := Scan{Record: evidence.ImageScan{Digest: "sha256:bb"}, DB: tt.db, ScannerVersion: "0.74.0", Report: report}
			st, err := VulnStatement(sc, &Target{Digest: "sha256:bb"}, Invocation{}, buildinfo.Info{})
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Predicate.(VulnPredicate).Scanner.DB.URI; got != tt.want {
				t.Errorf("db.uri = %q, want %q", got, tt.want)
			}
		})
	}
}
