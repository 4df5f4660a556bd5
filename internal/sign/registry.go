package sign

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

	"github.com/readiness-dev/readiness/internal/ociindex"
)

// RegistryOptions say how to reach the registry. The defaults are the safe
// ones: TLS with verification, credentials from the Docker config and the
// usual credential helpers.
type RegistryOptions struct {
	// AllowHTTP lets a registry that is not on loopback be reached over
	// plain HTTP (loopback registries always may be).
	AllowHTTP bool
	// AllowInsecure also accepts a registry's TLS certificate without
	// verifying it. It implies AllowHTTP.
	AllowInsecure bool
	// Keychain resolves credentials; authn.DefaultKeychain when nil.
	Keychain authn.Keychain
	// Transport replaces the HTTP transport (tests, proxies).
	Transport http.RoundTripper
	// Retry bounds retries of each registry request.
	Retry Retry
}

func (o RegistryOptions) nameOptions() []name.Option {
	if o.AllowHTTP || o.AllowInsecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

func (o RegistryOptions) remoteOptions(ctx context.Context) []remote.Option {
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithRetryBackoff(o.Retry.backoff()),
		remote.WithRetryStatusCodes(retryStatus...),
		remote.WithUserAgent("readiness"),
	}
	switch {
	case o.Transport != nil:
		opts = append(opts, remote.WithTransport(o.Transport))
	case o.AllowInsecure:
		t := remote.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // only with --allow-insecure-registry
		opts = append(opts, remote.WithTransport(t))
	}
	return opts
}

func (o RegistryOptions) ociOptions(ctx context.Context) []ociremote.Option {
	return []ociremote.Option{
		ociremote.WithRemoteOptions(o.remoteOptions(ctx)...),
		ociremote.WithNameOptions(o.nameOptions()...),
	}
}

// Target is an image resolved to the digest that is scanned, signed and
// verified. A tag is never signed; only Digest is.
type Target struct {
	// Input is the reference as the user wrote it.
	Input string `json:"input"`
	// Repository is registry/repo, the in-toto subject name.
	Repository string `json:"repository"`
	// Digest is "sha256:…" of the manifest or index.
	Digest string `json:"digest"`
	// MediaType of what Digest names.
	MediaType string `json:"media_type"`
	// Index is true for a multi-platform image index; Platforms then lists
	// its images.
	Index     bool       `json:"index,omitempty"`
	Platforms []Platform `json:"platforms,omitempty"`
	// ImageID is the config digest of a single image (not an index).
	ImageID string `json:"image_id,omitempty"`

	ref name.Digest
}

// Platform is one image of a multi-platform index.
type Platform struct {
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
	// ImageID is the image's config digest, as the registry serves it.
	ImageID string `json:"image_id"`
}

// images maps the manifest digest of every image t covers to its config
// digest: t itself, or each platform image of an index.
func (t *Target) images() map[string]string {
	if !t.Index {
		return map[string]string{t.Digest: t.ImageID}
	}
	out := make(map[string]string, len(t.Platforms))
	for _, p := range t.Platforms {
		out[p.Digest] = p.ImageID
	}
	return out
}

// Ref is the digest reference, repo@sha256:….
func (t *Target) Ref() name.Digest { return t.ref }

// String is the digest reference as text.
func (t *Target) String() string { return t.ref.String() }

// Hex is the digest without its algorithm.
func (t *Target) Hex() string { return strings.TrimPrefix(t.Digest, "sha256:") }

// RefError is a reference that cannot be parsed: a usage error.
type RefError struct {
	Ref string
	Err error
}

func (e *RefError) Error() string { return fmt.Sprintf("image reference %q: %v", e.Ref, e.Err) }
func (e *RefError) Unwrap() error { return e.Err }

// ParseRef parses an image reference without contacting the registry.
func ParseRef(image string, o RegistryOptions) (name.Reference, error) {
	if strings.TrimSpace(image) == "" {
		return nil, &RefError{Ref: image, Err: errors.New("empty")}
	}
	ref, err := name.ParseReference(image, o.nameOptions()...)
	if err != nil {
		return nil, &RefError{Ref: image, Err: err}
	}
	return ref, nil
}

// Resolve asks the registry which digest image names now. Everything after
// this works on that digest, so a tag moved mid-release cannot change what
// is signed.
func Resolve(ctx context.Context, image string, o RegistryOptions) (*Target, error) {
	ref, err := ParseRef(image, o)
	if err != nil {
		return nil, err
	}
	// remoteOptions already carries the bounded backoff; wrapping this in
	// Retry.do as well would multiply the attempts.
	desc, err := remote.Get(ref, o.remoteOptions(ctx)...)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("resolve %s: no such image in the registry", image)
		}
		return nil, err
	}
	t := &Target{
		Input:      image,
		Repository: ref.Context().Name(),
		Digest:     desc.Digest.String(),
		MediaType:  string(desc.MediaType),
		ref:        ref.Context().Digest(desc.Digest.String()),
	}
	if desc.MediaType.IsIndex() {
		t.Index = true
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("read index %s: %w", t.ref, err)
		}
		entries, err := ociindex.Classify(idx)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", image, err)
		}
		for _, e := range entries {
			switch e.Kind {
			case ociindex.Index:
				// Its images would ride on the outer signature unlisted
				// here; refuse rather than sign what was not enumerated.
				return nil, fmt.Errorf("resolve %s: the index holds a nested index (%s); sign an index whose entries are images", image, e.Descriptor.Digest)
			case ociindex.Image:
				id, err := configDigest(idx.Image(e.Descriptor.Digest))
				if err != nil {
					return nil, fmt.Errorf("resolve %s: entry %s: %w", image, e.Descriptor.Digest, err)
				}
				t.Platforms = append(t.Platforms, Platform{Platform: e.Platform, Digest: e.Descriptor.Digest.String(), ImageID: id})
			}
		}
		if len(t.Platforms) == 0 {
			return nil, fmt.Errorf("resolve %s: %w", image, ociindex.ErrEmpty)
		}
	} else if desc.MediaType.IsImage() {
		if t.ImageID, err = configDigest(desc.Image()); err != nil {
			return nil, fmt.Errorf("resolve %s: %w", image, err)
		}
	} else {
		return nil, fmt.Errorf("resolve %s: %s is neither an image nor an image index", image, desc.MediaType)
	}
	return t, nil
}

// configDigest is an image's config digest (its image ID), what trivy
// reports as Metadata.ImageID.
func configDigest(img v1.Image, err error) (string, error) {
	if err != nil {
		return "", err
	}
	h, err := img.ConfigName()
	if err != nil {
		return "", fmt.Errorf("read image config: %w", err)
	}
	return h.String(), nil
}

// ListTags lists a repository's tags: how a test (or a person) sees what
// signing wrote, sha256-<hex>.sig and sha256-<hex>.att.
func ListTags(ctx context.Context, repo string, o RegistryOptions) ([]string, error) {
	r, err := name.NewRepository(repo, o.nameOptions()...)
	if err != nil {
		return nil, &RefError{Ref: repo, Err: err}
	}
	return remote.List(r, o.remoteOptions(ctx)...)
}
