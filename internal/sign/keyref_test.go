package sign

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/sign/signtest"
)

// Key references read here instead of by cosign's pkg/signature: each
// way to name PEM bytes loads the same key; a missing variable, a failed
// fetch and an unknown scheme are errors that say so.
func TestKeyRefs(t *testing.T) {
	keys := signtest.KeyPair(t, "pw")
	priv, err := os.ReadFile(keys.Private)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(keys.Public)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cosign.key":
			w.Write(priv)
		case "/cosign.pub":
			w.Write(pub)
		case "/away":
			http.Redirect(w, r, "http://keys.example.com/cosign.pub", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	t.Setenv("READINESS_TEST_KEYREF_PRIV", string(priv))
	t.Setenv("READINESS_TEST_KEYREF_PUB", string(pub))
	ctx := context.Background()
	want, err := KeyFingerprint(ctx, keys.Public)
	if err != nil {
		t.Fatal(err)
	}
	pass := func(bool) ([]byte, error) { return []byte("pw"), nil }

	for _, tc := range []struct{ name, priv, pub, wantErr string }{
		{name: "file", priv: keys.Private, pub: keys.Public},
		{name: "env", priv: "env://READINESS_TEST_KEYREF_PRIV", pub: "env://READINESS_TEST_KEYREF_PUB"},
		{name: "http", priv: srv.URL + "/cosign.key", pub: srv.URL + "/cosign.pub"},
		{name: "unset variable", priv: "env://READINESS_TEST_KEYREF_UNSET", pub: "env://READINESS_TEST_KEYREF_UNSET", wantErr: "READINESS_TEST_KEYREF_UNSET is not set"},
		{name: "not found at URL", priv: srv.URL + "/nope", pub: srv.URL + "/nope", wantErr: "404"},
		{name: "unknown scheme", priv: "ftp://example.com/cosign.key", pub: "ftp://example.com/cosign.pub", wantErr: "unsupported key reference scheme ftp://"},
		// Plain http is refused unless the server is this machine: a key
		// fetched in the clear can be swapped (srv is on 127.0.0.1).
		{name: "plain http off this machine", priv: "http://keys.example.com/cosign.key", pub: "http://keys.example.com/cosign.pub", wantErr: "is plain http"},
		// A loopback server that redirects off the machine over plain http
		// (as a compromised https endpoint could): refused before fetching.
		{name: "redirect to plain http", priv: srv.URL + "/away", pub: srv.URL + "/away", wantErr: "redirects to http://keys.example.com/cosign.pub, plain http"},
		{name: "plain http to a loopback name", priv: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/cosign.key", pub: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/cosign.pub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sv, err := signerFromRef(ctx, tc.priv, pass)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("signer: error = %v, want %q", err, tc.wantErr)
				}
				if _, err := verifierFromRef(ctx, tc.pub); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("verifier: error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("signer: %v", err)
			}
			p, err := sv.PublicKey()
			if err != nil {
				t.Fatal(err)
			}
			if fp, _, _ := fingerprint(p); fp != want {
				t.Errorf("signer fingerprint %s, want %s", fp, want)
			}
			if fp, err := KeyFingerprint(ctx, tc.pub); err != nil || fp != want {
				t.Errorf("public key fingerprint %s (%v), want %s", fp, err, want)
			}
		})
	}
}

func TestIsProviderRef(t *testing.T) {
	for ref, want := range map[string]bool{
		"cosign.key": false, "/abs/cosign.key": false, `C:\keys\cosign.key`: false, "env://K": false,
		"https://example.com/k.pub": false, "http://127.0.0.1/k": false,
		"awskms:///alias/x": true, "k8s://ns/secret": true, "gitlab://group/project": true,
		"pkcs11:token-label=t": true, "ftp://x": true,
	} {
		if got := isProviderRef(ref); got != want {
			t.Errorf("isProviderRef(%q) = %v, want %v", ref, got, want)
		}
	}
}

// An identity token is taken as given when it parses as a JWS, else read
// from the file it names; with neither, an ambient provider is asked.
func TestReadIDToken(t *testing.T) {
	// header {"alg":"ES256"}, payload {"sub":"x"}, any signature bytes.
	const jws = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(jws+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct{ name, in, want, wantErr string }{
		{name: "token", in: jws, want: jws},
		{name: "file", in: file, want: jws},
		{name: "missing file", in: filepath.Join(t.TempDir(), "none"), wantErr: "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readIDToken(ctx, KeylessOptions{IDToken: tc.in})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

// SIGSTORE_ROOT_FILE splits into self-signed roots and intermediates, as
// cosign's fulcioroots does.
func TestFulcioRootsFromFile(t *testing.T) {
	root := selfCert(t, nil, nil)
	inter := selfCert(t, root.cert, root.key)
	file := filepath.Join(t.TempDir(), "roots.pem")
	var buf []byte
	for _, c := range []*x509.Certificate{root.cert, inter.cert} {
		buf = append(buf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(file, buf, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SIGSTORE_ROOT_FILE", file)
	roots, inters, err := fulcioRoots()
	if err != nil {
		t.Fatal(err)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := inter.cert.Verify(opts); err != nil {
		t.Errorf("intermediate does not chain to the root: %v", err)
	}
	if inters == nil {
		t.Error("no intermediates: the intermediate was taken for a root")
	}
	t.Setenv("SIGSTORE_ROOT_FILE", filepath.Join(t.TempDir(), "none.pem"))
	if _, _, err := fulcioRoots(); err == nil {
		t.Error("a missing SIGSTORE_ROOT_FILE loaded")
	}
}

type testCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// selfCert makes a CA certificate, self-signed when parent is nil.
func selfCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	name := "root"
	if parent != nil {
		name = "intermediate"
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	signer := key
	if parent == nil {
		parent = tmpl
	} else {
		signer = parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{cert: c, key: key}
}
