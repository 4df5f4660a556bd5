// Package ociindex decides what each entry of an OCI image index is. The
// image-scan gate (which images to scan) and the signer (which platform
// images a signature on the index covers) both ask this one function, so
// that an entry skipped by one and not by the other cannot exist.
package ociindex

import (
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Kind is what an index entry is.
type Kind int

// Kinds of entry.
const (
	// Image is a platform image: it must be scanned, and a signature on the
	// index covers it.
	Image Kind = iota
	// Attestation is verifiably an attestation manifest (as buildx writes
	// them): platform unknown/unknown and only in-toto layers. No client
	// runs it, so it is neither scanned nor a platform.
	Attestation
	// Index is a nested index.
	Index
)

func (k Kind) String() string {
	switch k {
	case Image:
		return "image"
	case Attestation:
		return "attestation"
	case Index:
		return "index"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Entry is one classified index entry.
type Entry struct {
	Kind       Kind
	Descriptor v1.Descriptor
	// Platform is os/arch[/variant] from the descriptor, "" when it has
	// none (the image's config then says).
	Platform string
}

// attestationLayerTypes are the layer media types of an attestation
// manifest: in-toto statements (buildx), DSSE envelopes and Sigstore
// bundles.
var attestationLayerTypes = []string{
	"application/vnd.in-toto+json",
	"application/vnd.dsse.envelope.v1+json",
	"application/vnd.dev.sigstore.bundle.v0.3+json",
}

// Classify lists idx's entries, each with its kind, in index order.
// An entry that only claims to be an attestation (by annotation, or by an
// unknown/unknown platform over ordinary layers) is an Image: it will be
// scanned. An entry that is neither an image nor an index and names a
// platform is an error, since a client could pull it for that platform.
func Classify(idx v1.ImageIndex) ([]Entry, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read index manifest: %w", err)
	}
	out := make([]Entry, 0, len(im.Manifests))
	for _, d := range im.Manifests {
		e := Entry{Descriptor: d, Platform: PlatformString(d.Platform)}
		switch {
		case d.MediaType.IsIndex():
			e.Kind = Index
		case d.MediaType.IsImage():
			att, err := isAttestation(idx, d)
			if err != nil {
				return nil, err
			}
			e.Kind = Image
			if att {
				e.Kind = Attestation
			}
		default:
			if d.Platform != nil && !unknownPlatform(d.Platform) {
				return nil, fmt.Errorf("entry %s (%s) is a %s, neither an image nor an index, yet names platform %s; refusing to release an index whose entries cannot be scanned",
					d.Digest, e.Platform, orNone(string(d.MediaType)), e.Platform)
			}
			// No platform: no client selects it as an image; it carries
			// nothing to scan or sign.
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// isAttestation reports whether d is verifiably an attestation manifest:
// unknown/unknown platform, and its manifest holds at least one layer, all
// of attestation media types.
func isAttestation(idx v1.ImageIndex, d v1.Descriptor) (bool, error) {
	if !unknownPlatform(d.Platform) {
		return false, nil
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		return false, fmt.Errorf("entry %s: %w", d.Digest, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return false, fmt.Errorf("entry %s: read manifest: %w", d.Digest, err)
	}
	return AttestationLayers(m), nil
}

// AttestationLayers reports whether a manifest's layers are all
// attestation documents (and there is at least one).
func AttestationLayers(m *v1.Manifest) bool {
	if m == nil || len(m.Layers) == 0 {
		return false
	}
	for _, l := range m.Layers {
		ok := false
		for _, t := range attestationLayerTypes {
			if string(l.MediaType) == t {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func unknownPlatform(p *v1.Platform) bool {
	return p != nil && p.OS == "unknown" && p.Architecture == "unknown"
}

// PlatformString renders os/arch[/variant]; "" for no platform.
func PlatformString(p *v1.Platform) string {
	if p == nil || p.OS == "" {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(no media type)"
	}
	return s
}

// ErrEmpty is an index with no image entry.
var ErrEmpty = errors.New("it holds no image manifest")
