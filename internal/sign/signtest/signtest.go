// Package signtest holds what the signing tests share: cosign key pairs
// made with cosign's own library, an in-process OCI registry on loopback
// with a switchable fault in front of it, and ways to look at what signing
// wrote (tags, signature layers, attestation predicate types).
package signtest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/readiness-dev/readiness/internal/testutil/trivytest"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
)

// Keys is a cosign key pair written to files.
type Keys struct {
	Private  string // cosign.key (encrypted with Password)
	Public   string // cosign.pub
	Password string
}

// PassFunc returns the key's password, as COSIGN_PASSWORD would.
func (k Keys) PassFunc() cosign.PassFunc {
	return func(bool) ([]byte, error) { return []byte(k.Password), nil }
}

// KeyPair generates an ECDSA P-256 cosign key pair with cosign's library
// (cosign.GenerateKeyPair) into a temp dir.
// Pairs are generated once per password per test process (the scrypt
// key derivation is slow under -race) and written to each caller's dir.
func KeyPair(tb testing.TB, password string) Keys {
	tb.Helper()
	kb, err := generated(password)
	if err != nil {
		tb.Fatalf("generate key pair: %v", err)
	}
	dir := tb.TempDir()
	k := Keys{Private: filepath.Join(dir, "cosign.key"), Public: filepath.Join(dir, "cosign.pub"), Password: password}
	if err := os.WriteFile(k.Private, kb.PrivateBytes, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(k.Public, kb.PublicBytes, 0o644); err != nil {
		tb.Fatal(err)
	}
	return k
}

var (
	keysMu sync.Mutex
	keys   = map[string]*cosign.KeysBytes{}
)

func generated(password string) (*cosign.KeysBytes, error) {
	keysMu.Lock()
	defer keysMu.Unlock()
	if kb, ok := keys[password]; ok {
		return kb, nil
	}
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		return nil, err
	}
	keys[password] = kb
	return kb, nil
}

// Registry is go-containerregistry's in-process registry on 127.0.0.1.
// Fault, when set, is a fake standing in front of it: a request it
// answers (returns true for) never reaches the real registry.
type Registry struct {
	// The plain registry's Host, Push and PushIndex.
	trivytest.Registry

	mu    sync.Mutex
	fault func(w http.ResponseWriter, r *http.Request) bool
}

// StartRegistry starts a registry that lives until the test ends.
func StartRegistry(tb testing.TB) *Registry {
	tb.Helper()
	real := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	reg := &Registry{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg.mu.Lock()
		f := reg.fault
		reg.mu.Unlock()
		if f != nil && f(w, r) {
			return
		}
		real.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	reg.Host = strings.TrimPrefix(srv.URL, "http://")
	return reg
}

// SetFault installs (or with nil removes) the fake in front.
func (r *Registry) SetFault(f func(w http.ResponseWriter, r *http.Request) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fault = f
}

// RefuseAttestations is a fault: every manifest push to a cosign
// attestation tag (sha256-<hex>.att) is denied with 403, as a registry
// with a tag-immutability or permission rule would.
func RefuseAttestations(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && strings.HasSuffix(r.URL.Path, ".att") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"errors":[{"code":"DENIED","message":"attestation push refused (signtest fake registry)"}]}`)
		return true
	}
	return false
}

// FailOnce answers the first request match accepts with status, then
// lets everything through: a transient fault that a retry must survive.
func FailOnce(status int, match func(*http.Request) bool) func(http.ResponseWriter, *http.Request) bool {
	var once sync.Once
	return func(w http.ResponseWriter, r *http.Request) bool {
		hit := false
		if match(r) {
			once.Do(func() { hit = true })
		}
		if hit {
			w.WriteHeader(status)
		}
		return hit
	}
}

// Tags lists repo's tags, sorted.
func (r *Registry) Tags(tb testing.TB, repo string) []string {
	tb.Helper()
	rp, err := name.NewRepository(r.Host + "/" + repo)
	if err != nil {
		tb.Fatal(err)
	}
	tags, err := remote.List(rp)
	if err != nil {
		tb.Fatalf("list tags of %s: %v", rp, err)
	}
	slices.Sort(tags)
	return tags
}

// CosignTags lists the .sig/.att/.sbom tags cosign would use for digest.
func CosignTags(tags []string, digest string) []string {
	prefix := strings.Replace(digest, ":", "-", 1)
	var out []string
	for _, t := range tags {
		if strings.HasPrefix(t, prefix) {
			out = append(out, t)
		}
	}
	return out
}

// Layers returns the layers' annotations of the image at repo:tag (a
// cosign signature or attestation image: one layer per signature).
func (r *Registry) Layers(tb testing.TB, repo, tag string) []map[string]string {
	tb.Helper()
	ref, err := name.NewTag(r.Host + "/" + repo + ":" + tag)
	if err != nil {
		tb.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		tb.Fatalf("read %s: %v", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]map[string]string, 0, len(m.Layers))
	for _, l := range m.Layers {
		out = append(out, l.Annotations)
	}
	return out
}

// PredicateTypes lists the predicate types of the attestations at
// repo:sha256-<hex>.att, in layer order, read from the DSSE payloads.
func (r *Registry) PredicateTypes(tb testing.TB, repo, digest string) []string {
	tb.Helper()
	var out []string
	for _, st := range r.Statements(tb, repo, digest) {
		out = append(out, st.PredicateType)
	}
	return out
}

// Statement is an attestation's in-toto statement, predicate left raw.
type Statement struct {
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate json.RawMessage `json:"predicate"`
}

// Statements reads the attestations at repo:sha256-<hex>.att (without
// verifying them), in layer order.
func (r *Registry) Statements(tb testing.TB, repo, digest string) []Statement {
	tb.Helper()
	ref, err := name.NewTag(r.Host + "/" + repo + ":" + strings.Replace(digest, ":", "-", 1) + ".att")
	if err != nil {
		tb.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		tb.Fatalf("read %s: %v", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		tb.Fatal(err)
	}
	var out []Statement
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			tb.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		var env struct{ Payload string }
		if err := json.Unmarshal(data, &env); err != nil {
			tb.Fatalf("attestation layer is not a DSSE envelope: %v", err)
		}
		body, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			tb.Fatal(err)
		}
		var st Statement
		if err := json.Unmarshal(body, &st); err != nil {
			tb.Fatal(err)
		}
		out = append(out, st)
	}
	return out
}
