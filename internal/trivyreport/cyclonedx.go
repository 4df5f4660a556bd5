package trivyreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// cycloneDX is the part of trivy's CycloneDX output that names the image:
// trivy writes the report's ImageID and RepoDigests as properties of the
// BOM's metadata component (pkg/sbom/cyclonedx, "aquasecurity:trivy:*").
type cycloneDX struct {
	BOMFormat string `json:"bomFormat"`
	Metadata  struct {
		Component *struct {
			Name       string `json:"name"`
			Properties []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"properties"`
		} `json:"component"`
	} `json:"metadata"`
}

// ReadCycloneDXIdentity reads the identity of the image a trivy CycloneDX
// SBOM describes, as an Identity that Check ties to an image like a JSON
// report's: ArtifactName is the component's name, and ImageID and
// RepoDigests are trivy's properties of the same names.
func ReadCycloneDXIdentity(data []byte) (Identity, error) {
	var id Identity
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return id, errors.New("not a CycloneDX JSON SBOM")
	}
	var bom cycloneDX
	if err := json.Unmarshal(data, &bom); err != nil {
		return id, fmt.Errorf("not a CycloneDX JSON SBOM: %v", err)
	}
	if bom.BOMFormat != "CycloneDX" {
		return id, fmt.Errorf("bomFormat is %q, not CycloneDX", bom.BOMFormat)
	}
	c := bom.Metadata.Component
	if c == nil {
		return id, errors.New("the SBOM has no metadata.component naming the image it describes")
	}
	id.SchemaVersion = 2
	id.ArtifactName = c.Name
	for _, p := range c.Properties {
		switch p.Name {
		case "aquasecurity:trivy:ImageID":
			if id.Metadata.ImageID != "" && id.Metadata.ImageID != p.Value {
				return id, errors.New("the SBOM names two image IDs")
			}
			id.Metadata.ImageID = p.Value
		case "aquasecurity:trivy:RepoDigest":
			id.Metadata.RepoDigests = append(id.Metadata.RepoDigests, p.Value)
		}
	}
	return id, nil
}
