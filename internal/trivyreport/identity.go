// Package trivyreport ties a raw trivy JSON report to the image it claims
// to describe. The image-scan gate asks it right after a scan, and the
// signer asks it again before it signs from a carried bundle, so a report
// of another image (or one that names no image) is refused on both sides.
package trivyreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Identity is what a report says about the image it scanned.
type Identity struct {
	SchemaVersion int    `json:"SchemaVersion"`
	ArtifactName  string `json:"ArtifactName"`
	Metadata      struct {
		ImageID     string   `json:"ImageID"`
		RepoDigests []string `json:"RepoDigests"`
	} `json:"Metadata"`
}

// Want is the image a report must be of.
type Want struct {
	// Digest is the manifest digest ("sha256:…"); "" for a docker tarball,
	// which has none.
	Digest string
	// ImageID is the config digest; required.
	ImageID string
	// Registry says the image was scanned from a registry, where trivy
	// names the digest in ArtifactName or RepoDigests.
	Registry bool
}

// ReadIdentity decodes the identity fields of a trivy report.
func ReadIdentity(data []byte) (Identity, error) {
	var id Identity
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return id, errors.New("not a trivy JSON report")
	}
	if err := json.Unmarshal(data, &id); err != nil {
		return id, fmt.Errorf("not a trivy JSON report: %v", err)
	}
	if id.SchemaVersion != 2 {
		return id, fmt.Errorf("trivy report SchemaVersion %d; version 2 is read", id.SchemaVersion)
	}
	return id, nil
}

// Check refuses a report that cannot be tied to w: no ImageID, another
// ImageID, a RepoDigest of another manifest, or (from a registry) no
// mention of the manifest digest at all. The error names the field.
func (id Identity) Check(w Want) error {
	switch {
	case w.ImageID == "":
		return errors.New("the image's config digest is unknown, so the report cannot be tied to it")
	case id.Metadata.ImageID == "":
		return fmt.Errorf("the report's Metadata.ImageID is empty, so it cannot be tied to image %s", w.ImageID)
	case id.Metadata.ImageID != w.ImageID:
		return fmt.Errorf("the report's Metadata.ImageID is %s, but the image's config digest is %s", id.Metadata.ImageID, w.ImageID)
	}
	if w.Digest == "" {
		return nil
	}
	named := strings.HasSuffix(id.ArtifactName, "@"+w.Digest)
	for _, rd := range id.Metadata.RepoDigests {
		_, d, ok := strings.Cut(rd, "@")
		if !ok || d != w.Digest {
			return fmt.Errorf("the report's Metadata.RepoDigests names %s, not manifest %s", rd, w.Digest)
		}
		named = true
	}
	if at := strings.LastIndex(id.ArtifactName, "@sha256:"); w.Registry && at >= 0 && id.ArtifactName[at+1:] != w.Digest {
		return fmt.Errorf("the report's ArtifactName %q is not manifest %s", id.ArtifactName, w.Digest)
	}
	if w.Registry && !named {
		return fmt.Errorf("neither the report's ArtifactName (%q) nor its Metadata.RepoDigests names manifest %s", id.ArtifactName, w.Digest)
	}
	return nil
}
