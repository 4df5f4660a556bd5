package trivyreport_test

import (
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/trivyreport"
)

const (
	manifest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	other    = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	config   = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
)

func TestCheck(t *testing.T) {
	reg := trivyreport.Want{Digest: manifest, ImageID: config, Registry: true}
	tests := []struct {
		name   string
		report string
		want   trivyreport.Want
		err    string
	}{
		{"real trivy's registry report", `{"SchemaVersion":2,"ArtifactName":"r/app@` + manifest + `","Metadata":{"ImageID":"` + config + `","RepoDigests":["r/app@` + manifest + `"]}}`, reg, ""},
		// Hole 3 of issue 12: this report once passed as a clean scan.
		{"no ImageID", `{"SchemaVersion":2,"Metadata":{"OS":{"Family":"alpine","Name":"3.19.1"}},"Results":[]}`, reg, "Metadata.ImageID is empty"},
		{"another ImageID", `{"SchemaVersion":2,"ArtifactName":"r/app@` + manifest + `","Metadata":{"ImageID":"` + other + `"}}`, reg, "Metadata.ImageID is " + other},
		{"another manifest in RepoDigests", `{"SchemaVersion":2,"ArtifactName":"r/app@` + manifest + `","Metadata":{"ImageID":"` + config + `","RepoDigests":["r/app@` + other + `"]}}`, reg, "RepoDigests names"},
		{"another manifest in ArtifactName", `{"SchemaVersion":2,"ArtifactName":"r/app@` + other + `","Metadata":{"ImageID":"` + config + `"}}`, reg, "not manifest"},
		{"registry report naming no manifest", `{"SchemaVersion":2,"ArtifactName":"r/app:1","Metadata":{"ImageID":"` + config + `"}}`, reg, "names manifest"},
		{"tarball: the ImageID is enough", `{"SchemaVersion":2,"ArtifactName":"/x/app.tar","Metadata":{"ImageID":"` + config + `"}}`, trivyreport.Want{ImageID: config}, ""},
		{"layout: no RepoDigests is fine", `{"SchemaVersion":2,"ArtifactName":"/x/oci","Metadata":{"ImageID":"` + config + `"}}`, trivyreport.Want{Digest: manifest, ImageID: config}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := trivyreport.ReadIdentity([]byte(tt.report))
			if err == nil {
				err = id.Check(tt.want)
			}
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestReadIdentityRefusesWhatIsNotAReport(t *testing.T) {
	for _, in := range []string{"", "[]", `{"SchemaVersion":1}`, "{"} {
		if _, err := trivyreport.ReadIdentity([]byte(in)); err == nil {
			t.Errorf("ReadIdentity(%q) succeeded", in)
		}
	}
}

func TestCycloneDXIdentity(t *testing.T) {
	reg := trivyreport.Want{Digest: manifest, ImageID: config, Registry: true}
	comp := func(name string, props ...string) string {
		var ps []string
		for i := 0; i+1 < len(props); i += 2 {
			ps = append(ps, `{"name":"`+props[i]+`","value":"`+props[i+1]+`"}`)
		}
		return `{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"type":"container","name":"` + name + `","properties":[` + strings.Join(ps, ",") + `]}}}`
	}
	const imageID, repoDigest = "aquasecurity:trivy:ImageID", "aquasecurity:trivy:RepoDigest"
	tests := []struct {
		name string
		sbom string
		want trivyreport.Want
		err  string
	}{
		{"trivy's SBOM of the registry image", comp("r/app@"+manifest, imageID, config, repoDigest, "r/app@"+manifest), reg, ""},
		{"another image's config", comp("r/app@"+manifest, imageID, other, repoDigest, "r/app@"+manifest), reg, "Metadata.ImageID is " + other},
		{"another manifest", comp("r/app@"+other, imageID, config, repoDigest, "r/app@"+other), reg, "RepoDigests names"},
		{"two image IDs", comp("r/app@"+manifest, imageID, config, imageID, other), reg, "two image IDs"},
		{"no image ID", comp("r/app@"+manifest, repoDigest, "r/app@"+manifest), reg, "ImageID is empty"},
		{"no component", `{"bomFormat":"CycloneDX","metadata":{}}`, reg, "no metadata.component"},
		{"not CycloneDX", `{"bomFormat":"SPDX"}`, reg, "not CycloneDX"},
		{"trivy's JSON report", `{"SchemaVersion":2,"ArtifactName":"r/app@` + manifest + `","Metadata":{"ImageID":"` + config + `"}}`, reg, "not CycloneDX"},
		{"not JSON", `PK`, reg, "not a CycloneDX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := trivyreport.ReadCycloneDXIdentity([]byte(tt.sbom))
			if err == nil {
				err = id.Check(tt.want)
			}
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
		})
	}
}
