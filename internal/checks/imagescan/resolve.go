package imagescan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/ociindex"
)

// Sources of an image.
const (
	SourceRegistry = "registry"
	SourceTarball  = "tarball"
	SourceLayout   = "oci-layout"
)

// Digest kinds.
const (
	DigestManifest = evidence.DigestManifest
	DigestImageID  = evidence.DigestImageID
)

// target is one image, on one platform, that trivy will scan.
type target struct {
	Reference  string
	Source     string
	Name       string
	Digest     string
	DigestKind string
	ImageID    string
	Platform   string
	// Args select the image for trivy: ["--image-src", "remote", "repo@sha256:…"]
	// or ["--input", path].
	Args []string
	// VEX are the documents (this target's statements only) trivy applies;
	// VEXSource names the configured document each was cut from.
	VEX       []string
	VEXSource map[string]string
}

// display names the target in messages: "repo@sha256:0123456789ab (linux/arm64)".
func (t target) display() string {
	s := t.Name + "@" + shortDigest(t.Digest)
	if t.Platform != "" {
		s += " (" + t.Platform + ")"
	}
	return s
}

// ImageScanIdentity is the part of a scan record the target decides.
func (t target) ImageScanIdentity() evidence.ImageScan {
	return evidence.ImageScan{Reference: t.Reference, Source: t.Source, Name: t.Name, Digest: t.Digest, DigestKind: t.DigestKind, ImageID: t.ImageID, Platform: t.Platform}
}

// shortDigest keeps "sha256:" and 12 hex digits, as finding IDs do.
func shortDigest(d string) string {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok {
		return d
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return alg + ":" + hex
}

// resolver turns configured references into digest-pinned targets.
type resolver struct {
	remote    []remote.Option
	platforms []v1.Platform
	insecure  bool
	// work is a directory for OCI layout views; it outlives the scans.
	work  string
	views int
}

// maxIndexDepth bounds nested indexes (an index of indexes of …).
const maxIndexDepth = 4

// validReference checks the syntax of a registry reference.
func validReference(ref string, insecure bool) error {
	var nopts []name.Option
	if insecure {
		nopts = append(nopts, name.Insecure)
	}
	if _, err := name.ParseReference(ref, nopts...); err != nil {
		return fmt.Errorf("image reference %q is malformed: %v", ref, err)
	}
	return nil
}

// registry resolves a registry reference: a tag becomes a digest, and an
// index becomes one target per platform image it holds.
func (r *resolver) registry(ctx context.Context, ref string) ([]target, error) {
	var nopts []name.Option
	if r.insecure {
		nopts = append(nopts, name.Insecure)
	}
	parsed, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, fmt.Errorf("image reference %q is malformed: %v", ref, err)
	}
	opts := append([]remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithUserAgent("readiness"),
	}, r.remote...)
	desc, err := remote.Get(parsed, opts...)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot resolve image %s to a digest: %s", ref, shorten(err.Error(), 300))
	}
	repo := parsed.Context()
	mk := func(d v1.Hash, imageID, platform string) target {
		return target{
			Reference: ref, Source: SourceRegistry, Name: repo.Name(),
			Digest: d.String(), DigestKind: DigestManifest, ImageID: imageID, Platform: platform,
			Args: []string{"--image-src", "remote", repo.Digest(d.String()).String()},
		}
	}
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("cannot read image index %s: %v", ref, err)
		}
		imgs, err := r.walk(idx, 0)
		if err != nil {
			return nil, fmt.Errorf("image index %s: %v", ref, err)
		}
		var out []target
		for _, im := range imgs {
			out = append(out, mk(im.digest, im.imageID, im.platform))
		}
		return r.filtered(ref, out, imgs)
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("cannot read image %s: %v", ref, err)
		}
		id, plat, err := identify(img, nil)
		if err != nil {
			return nil, fmt.Errorf("image %s: %v", ref, err)
		}
		if err := r.single(ref, plat); err != nil {
			return nil, err
		}
		return []target{mk(desc.Digest, id, plat)}, nil
	default:
		return nil, fmt.Errorf("%s is a %s, not an image or an image index", ref, desc.MediaType)
	}
}

// tarball reads a docker-format image tarball (docker save, crane pull).
// It holds no registry manifest digest, so the image is identified by its
// image ID, which is the same in every registry and daemon.
func (r *resolver) tarball(path string) ([]target, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("image tarball %s does not exist", path)
	case err != nil:
		return nil, fmt.Errorf("image tarball %s: %v", path, unwrapPath(err))
	case st.IsDir():
		return nil, fmt.Errorf("image tarball %s is a directory; use oci_layouts (--oci-layout) for an OCI layout", path)
	}
	img, err := tarball.ImageFromPath(abs, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s as a docker image tarball: %v", path, err)
	}
	id, plat, err := identify(img, nil)
	if err != nil {
		return nil, fmt.Errorf("image tarball %s: %v", path, err)
	}
	if err := r.single(path, plat); err != nil {
		return nil, err
	}
	return []target{{
		Reference: path, Source: SourceTarball, Name: path,
		Digest: id, DigestKind: DigestImageID, ImageID: id, Platform: plat,
		Args: []string{"--input", abs},
	}}, nil
}

// layout reads an OCI image layout directory and scans every image in it,
// every platform of every index. trivy can only pick a top-level manifest
// of a layout, so each image is handed to trivy through a one-image view
// of the layout (its own index.json, the original blobs).
func (r *resolver) layout(path string) ([]target, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("OCI layout %s does not exist", path)
		}
		return nil, fmt.Errorf("OCI layout %s is not a directory", path)
	}
	idx, err := layout.ImageIndexFromPath(abs)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s as an OCI image layout: %v", path, err)
	}
	imgs, err := r.walk(idx, 0)
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: %v", path, err)
	}
	var out []target
	for _, im := range imgs {
		if !r.wanted(im.platform) {
			continue
		}
		view, err := r.view(abs, im.desc)
		if err != nil {
			return nil, fmt.Errorf("OCI layout %s: %v", path, err)
		}
		out = append(out, target{
			Reference: path, Source: SourceLayout, Name: path,
			Digest: im.digest.String(), DigestKind: DigestManifest, ImageID: im.imageID, Platform: im.platform,
			Args: []string{"--input", view},
		})
	}
	if len(out) == 0 {
		return nil, r.noPlatform(path, imgs)
	}
	return out, nil
}

// view writes a layout whose index.json lists one manifest and whose blobs
// are the original layout's.
func (r *resolver) view(layoutDir string, desc v1.Descriptor) (string, error) {
	r.views++
	dir := filepath.Join(r.work, "layout-"+strconv.Itoa(r.views))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	index, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json", Manifests: []v1.Descriptor{desc}})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o600); err != nil {
		return "", err
	}
	if err := os.Symlink(filepath.Join(layoutDir, "blobs"), filepath.Join(dir, "blobs")); err != nil {
		return "", err
	}
	return dir, nil
}

// indexed is one platform image found in an index.
type indexed struct {
	desc     v1.Descriptor
	digest   v1.Hash
	imageID  string
	platform string
}

// walk lists the platform images of an index, nested indexes included.
// What is an image and what an attestation is decided by ociindex.Classify,
// the same function the signer asks.
func (r *resolver) walk(idx v1.ImageIndex, depth int) ([]indexed, error) {
	if depth > maxIndexDepth {
		return nil, fmt.Errorf("indexes nested deeper than %d", maxIndexDepth)
	}
	entries, err := ociindex.Classify(idx)
	if err != nil {
		return nil, err
	}
	var out []indexed
	for _, e := range entries {
		d := e.Descriptor
		switch e.Kind {
		case ociindex.Index:
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			more, err := r.walk(child, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		case ociindex.Image:
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, err
			}
			id, plat, err := identify(img, d.Platform)
			if err != nil {
				return nil, fmt.Errorf("manifest %s: %v", d.Digest, err)
			}
			out = append(out, indexed{desc: d, digest: d.Digest, imageID: id, platform: plat})
		}
	}
	if len(out) == 0 {
		return nil, ociindex.ErrEmpty
	}
	return out, nil
}

// identify returns an image's ID (config digest) and platform, taking the
// platform from the index descriptor when it has one.
func identify(img v1.Image, p *v1.Platform) (string, string, error) {
	id, err := img.ConfigName()
	if err != nil {
		return "", "", fmt.Errorf("read image config: %v", err)
	}
	if p == nil || p.OS == "" {
		cf, err := img.ConfigFile()
		if err != nil {
			return "", "", fmt.Errorf("read image config: %v", err)
		}
		p = &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	}
	return id.String(), platformString(*p), nil
}

func platformString(p v1.Platform) string {
	if p.OS == "" {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// wanted reports whether platform passes the configured filter. A filter
// without a variant matches every variant (linux/arm64 matches
// linux/arm64/v8).
func (r *resolver) wanted(platform string) bool {
	if len(r.platforms) == 0 {
		return true
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return false
	}
	for _, f := range r.platforms {
		if f.OS == p.OS && f.Architecture == p.Architecture && (f.Variant == "" || f.Variant == p.Variant) {
			return true
		}
	}
	return false
}

// filtered keeps the targets on wanted platforms; it is an error when none
// is left, so that a platform filter cannot silently scan nothing.
func (r *resolver) filtered(ref string, ts []target, imgs []indexed) ([]target, error) {
	var out []target
	for _, t := range ts {
		if r.wanted(t.Platform) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, r.noPlatform(ref, imgs)
	}
	return out, nil
}

func (r *resolver) noPlatform(ref string, imgs []indexed) error {
	var have []string
	for _, im := range imgs {
		have = append(have, im.platform)
	}
	return fmt.Errorf("%s holds no image for platform %s (it holds %s)", ref, r.platformList(), strings.Join(have, ", "))
}

// single checks a single-platform image against the filter.
func (r *resolver) single(ref, platform string) error {
	if r.wanted(platform) {
		return nil
	}
	return fmt.Errorf("%s is a %s image, not one of the configured platforms %s", ref, platform, r.platformList())
}

func (r *resolver) platformList() string {
	var s []string
	for _, p := range r.platforms {
		s = append(s, platformString(p))
	}
	return strings.Join(s, ", ")
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
