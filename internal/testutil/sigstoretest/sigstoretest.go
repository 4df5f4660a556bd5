// Package sigstoretest runs a private Sigstore on loopback for keyless
// signing tests, with no network beyond 127.0.0.1:
//
//   - an OIDC issuer: github.com/oauth2-proxy/mockoidc, tokens obtained
//     through its authorization-code flow, audience "sigstore";
//   - Fulcio: the real server code (pkg/server's gRPC CA service, behind its
//     own grpc-gateway REST handlers, as cmd/app wires them) with an
//     ephemeral CA (pkg/ca/ephemeralca) and an issuer config naming the
//     OIDC issuer above (type email);
//   - a CT log stand-in: Fulcio needs an SCT to embed, and a real CT log
//     (Trillian or Tessera with a database) cannot run in a test. The
//     stand-in answers add-pre-chain with a genuine RFC 6962 SCT signed by
//     its own key over the precertificate, keeps no Merkle tree, and is
//     the only component that is not the real one. Both Fulcio's CT client
//     and every verifier check its signature like any log's;
//   - a trusted_root.json (sigstore-go's format, as cosign --trusted-root
//     reads it) naming the CA and the CT log key, and no Rekor log: the
//     tests sign with the transparency log off.
//
// Only tests import this package; the release binary never links Fulcio.
package sigstoretest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	ct "github.com/google/certificate-transparency-go"
	ctclient "github.com/google/certificate-transparency-go/client"
	"github.com/google/certificate-transparency-go/jsonclient"
	cttls "github.com/google/certificate-transparency-go/tls"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/oauth2-proxy/mockoidc"
	v1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/sigstore/fulcio/pkg/ca/ephemeralca"
	"github.com/sigstore/fulcio/pkg/config"
	gw "github.com/sigstore/fulcio/pkg/generated/protobuf"
	legacygw "github.com/sigstore/fulcio/pkg/generated/protobuf/legacy"
	flog "github.com/sigstore/fulcio/pkg/log"
	"github.com/sigstore/fulcio/pkg/server"
)

// ClientID is the audience Fulcio demands of an ID token.
const ClientID = "sigstore"

// Sigstore is one private Sigstore instance on loopback.
type Sigstore struct {
	// Issuer is the OIDC issuer URL, as it appears in tokens and in the
	// certificates Fulcio issues.
	Issuer string
	// FulcioURL is Fulcio's base URL (cosign's --fulcio-url).
	FulcioURL string
	// TrustedRoot is a trusted_root.json naming this Fulcio's CA and CT
	// log (cosign's and readiness's --trusted-root).
	TrustedRoot string
	// CAPEM is the CA certificate, PEM.
	CAPEM []byte
	// CTLogPubPEM is the CT log's public key, PEM.
	CTLogPubPEM []byte

	oidc   *mockoidc.MockOIDC
	clock  sync.Mutex
	tokens *http.Client
	// id tags this instance's requests in Fulcio's (global) log.
	id string
}

// Start starts an OIDC issuer, a CT log stand-in and Fulcio, all stopped
// when the test ends.
func Start(tb testing.TB) *Sigstore {
	tb.Helper()
	return startTyped(tb, "email")
}

// StartGitHub is Start with an issuer that Fulcio treats as GitHub
// Actions' (type github-workflow): its certificates carry the workflow
// identity GitHub's would (SAN https://github.com/OWNER/REPO/.github/
// workflows/FILE@REF and the GitHub extensions), so a verification written
// for a release workflow's identity is tested as written, with only the
// issuer URL and the trust root this machine's.
func StartGitHub(tb testing.TB) *Sigstore {
	tb.Helper()
	return startTyped(tb, "github-workflow")
}

func startTyped(tb testing.TB, issuerType string) *Sigstore {
	tb.Helper()
	s, err := start(tb.TempDir(), issuerType)
	if err != nil {
		tb.Fatalf("start a private Sigstore: %v", err)
	}
	tb.Cleanup(s.close)
	return s
}

var closers sync.Map // *Sigstore → []func()

func (s *Sigstore) close() {
	if fs, ok := closers.LoadAndDelete(s); ok {
		for _, f := range fs.([]func()) {
			f()
		}
	}
}

func start(dir, issuerType string) (_ *Sigstore, err error) {
	var stop []func()
	defer func() {
		if err != nil {
			for _, f := range stop {
				f()
			}
		}
	}()

	logOnce.Do(captureLog)
	id := fmt.Sprintf("sigstoretest-%d", instances.Add(1))

	m, err := mockoidc.NewServer(nil)
	if err != nil {
		return nil, fmt.Errorf("oidc issuer: %w", err)
	}
	m.ClientID = ClientID
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("oidc issuer: %w", err)
	}
	if err := m.Start(ln, nil); err != nil {
		return nil, fmt.Errorf("oidc issuer: %w", err)
	}
	stop = append(stop, func() { _ = m.Shutdown() })

	ctKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ctSrv := httptest.NewServer(ctLog(ctKey))
	stop = append(stop, ctSrv.Close)

	eca, err := ephemeralca.NewEphemeralCA()
	if err != nil {
		return nil, fmt.Errorf("ephemeral CA: %w", err)
	}
	certs, _ := eca.GetSignerWithChain()
	caCert := certs[len(certs)-1]
	fulcioSrv, err := fulcio(id, m.Issuer(), issuerType, ctSrv.URL, &ctKey.PublicKey, eca)
	if err != nil {
		return nil, err
	}
	stop = append(stop, fulcioSrv.Close)

	trPath := filepath.Join(dir, "trusted_root.json")
	if err := writeTrustedRoot(trPath, caCert, fulcioSrv.URL, &ctKey.PublicKey, ctSrv.URL); err != nil {
		return nil, err
	}
	s := &Sigstore{
		Issuer: m.Issuer(), FulcioURL: fulcioSrv.URL, TrustedRoot: trPath,
		CAPEM: pemCert(caCert), CTLogPubPEM: pemPub(&ctKey.PublicKey), oidc: m, id: id,
		tokens: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
	closers.Store(s, stop)
	return s, nil
}

// fulcio serves Fulcio's gRPC CA service through its REST gateway, the v2
// API and the legacy v1 API cosign calls, on loopback.
func fulcio(id, issuer, issuerType, ctURL string, ctPub crypto.PublicKey, eca *ephemeralca.EphemeralCA) (*httptest.Server, error) {
	cfg, err := config.Read([]byte(fmt.Sprintf(`{"OIDCIssuers": {%q: {"IssuerURL": %q, "ClientID": %q, "Type": %q}}}`, issuer, issuer, ClientID, issuerType)))
	if err != nil {
		return nil, fmt.Errorf("fulcio config: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(ctPub)
	if err != nil {
		return nil, err
	}
	// Fulcio's CT client checks every SCT it gets with the log's key.
	ctc, err := ctclient.New(ctURL, &http.Client{Timeout: 10 * time.Second}, jsonclient.Options{PublicKeyDER: der})
	if err != nil {
		return nil, fmt.Errorf("ct client: %w", err)
	}
	algs, err := signature.NewAlgorithmRegistryConfig([]v1.PublicKeyDetails{
		v1.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, v1.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384,
		v1.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256, v1.PublicKeyDetails_PKIX_ED25519,
	})
	if err != nil {
		return nil, err
	}
	ca := server.NewGRPCCAServer(ctc, eca, algs, server.NewIssuerPool(cfg))
	// As cmd/app/http.go: the bearer token becomes gRPC metadata, and the
	// legacy API's status code and SCT travel back as headers.
	mux := runtime.NewServeMux(
		runtime.WithMetadata(func(_ context.Context, r *http.Request) metadata.MD {
			return metadata.Pairs(server.MetadataOIDCTokenKey, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "),
				requestIDKey, id)
		}),
		runtime.WithForwardResponseOption(responseCode),
	)
	ctx := context.Background()
	if err := gw.RegisterCAHandlerServer(ctx, mux, ca); err != nil {
		return nil, err
	}
	if err := legacygw.RegisterCAHandlerServer(ctx, mux, server.NewLegacyGRPCCAServer(ca)); err != nil {
		return nil, err
	}
	// cmd/app puts the config in every request's context with a gRPC
	// interceptor; without gRPC, the HTTP handler does it.
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(config.With(r.Context(), cfg)))
	})), nil
}

// Fulcio logs why it refused a token (the client is told only "There was
// an error processing the identity token"). Its logger is a package
// variable, set once here to a recorder; each instance tags its requests
// with a request ID, which Fulcio adds to every line.
const requestIDKey = "x-request-id"

var (
	logOnce   sync.Once
	logged    *observer.ObservedLogs
	instances atomic.Int64
)

func captureLog() {
	core, obs := observer.New(zap.InfoLevel)
	logged = obs
	flog.Logger = zap.New(core).Sugar()
}

// FulcioLog returns what this Fulcio logged at warning level or above:
// its reasons for refusing requests.
func (s *Sigstore) FulcioLog() string {
	var lines []string
	for _, e := range logged.FilterField(zap.String("requestID", s.id)).All() {
		if e.Level >= zap.WarnLevel {
			lines = append(lines, e.Message)
		}
	}
	return strings.Join(lines, "\n")
}

// responseCode is cmd/app's setResponseCodeModifier.
func responseCode(ctx context.Context, w http.ResponseWriter, _ proto.Message) error {
	md, ok := runtime.ServerMetadataFromContext(ctx)
	if !ok {
		return nil
	}
	if vals := md.HeaderMD.Get(server.SCTMetadataKey); len(vals) > 0 {
		delete(md.HeaderMD, server.SCTMetadataKey)
		w.Header().Set("SCT", vals[0])
	}
	for k := range w.Header() {
		if strings.HasPrefix(k, "Grpc-") {
			delete(w.Header(), k)
		}
	}
	if vals := md.HeaderMD.Get(server.HTTPResponseCodeMetadataKey); len(vals) > 0 {
		code, err := strconv.Atoi(vals[0])
		if err != nil {
			return err
		}
		delete(md.HeaderMD, server.HTTPResponseCodeMetadataKey)
		w.WriteHeader(code)
	}
	return nil
}

// ctLog is the CT log stand-in: add-chain and add-pre-chain answered with
// an RFC 6962 SCT over the submitted (pre)certificate, signed with key.
func ctLog(key *ecdsa.PrivateKey) http.Handler {
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	logID := sha256.Sum256(der)
	add := func(etype ct.LogEntryType) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var req ct.AddChainRequest
			if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || len(req.Chain) < 2 {
				http.Error(w, "bad chain", http.StatusBadRequest)
				return
			}
			chain := make([]ct.ASN1Cert, len(req.Chain))
			for i, c := range req.Chain {
				chain[i] = ct.ASN1Cert{Data: c}
			}
			ts := uint64(time.Now().UnixMilli())
			leaf, err := ct.MerkleTreeLeafFromRawChain(chain, etype, ts)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			sct := ct.SignedCertificateTimestamp{SCTVersion: ct.V1, LogID: ct.LogID{KeyID: logID}, Timestamp: ts}
			input, err := ct.SerializeSCTSignatureInput(sct, ct.LogEntry{Leaf: *leaf})
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			sum := sha256.Sum256(input)
			sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			sct.Signature = ct.DigitallySigned{
				Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA},
				Signature: sig,
			}
			dsig, err := cttls.Marshal(sct.Signature)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(ct.AddChainResponse{SCTVersion: sct.SCTVersion, ID: logID[:], Timestamp: ts, Signature: dsig})
		}
	}
	mux := http.NewServeMux()
	mux.Handle("POST /ct/v1/add-chain", add(ct.X509LogEntryType))
	mux.Handle("POST /ct/v1/add-pre-chain", add(ct.PrecertLogEntryType))
	return mux
}

func writeTrustedRoot(path string, ca *x509.Certificate, fulcioURL string, ctPub crypto.PublicKey, ctURL string) error {
	der, err := x509.MarshalPKIXPublicKey(ctPub)
	if err != nil {
		return err
	}
	id := sha256.Sum256(der)
	start := time.Now().Add(-time.Hour)
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{Root: ca, URI: fulcioURL, ValidityPeriodStart: start}},
		map[string]*root.TransparencyLog{fmt.Sprintf("%x", id): {
			BaseURL: ctURL, ID: id[:], ValidityPeriodStart: start, HashFunc: crypto.SHA256,
			PublicKey: ctPub, SignatureHashFunc: crypto.SHA256,
		}},
		nil, map[string]*root.TransparencyLog{})
	if err != nil {
		return fmt.Errorf("trusted root: %w", err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		return fmt.Errorf("trusted root: %w", err)
	}
	return os.WriteFile(path, b, 0o644)
}

// CAPEMFile writes the CA certificate (PEM) to a file: what a user might
// wrongly pass where a trusted_root.json belongs.
func (s *Sigstore) CAPEMFile(tb testing.TB) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "fulcio-ca.pem")
	if err := os.WriteFile(p, s.CAPEM, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// LegacyTrustEnv writes the CA certificate and the CT log key to files and
// returns the variables that make cosign trust them where it does not take
// --trusted-root (cosign v2's verify-attestation for attestations outside
// the new bundle format): SIGSTORE_ROOT_FILE, SIGSTORE_CT_LOG_PUBLIC_KEY_FILE.
func (s *Sigstore) LegacyTrustEnv(tb testing.TB) []string {
	tb.Helper()
	ct := filepath.Join(tb.TempDir(), "ctlog.pub")
	if err := os.WriteFile(ct, s.CTLogPubPEM, 0o644); err != nil {
		tb.Fatal(err)
	}
	return []string{"SIGSTORE_ROOT_FILE=" + s.CAPEMFile(tb), "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=" + ct}
}

// User is who the OIDC issuer vouches for in the next token.
type User = mockoidc.MockUser

// Jane is the default signer: a verified email.
func Jane() *User { return mockoidc.DefaultUser() }

// Token returns an ID token for u (Jane when nil), obtained through the
// issuer's authorization-code flow, audience "sigstore".
func (s *Sigstore) Token(tb testing.TB, u *User) string {
	tb.Helper()
	tok, err := s.token(u, 0)
	if err != nil {
		tb.Fatalf("oidc token: %v", err)
	}
	return tok
}

// ExpiredToken returns a genuine token for u that expired before now: it
// was issued with the issuer's clock turned back by longer than its TTL.
func (s *Sigstore) ExpiredToken(tb testing.TB, u *User) string {
	tb.Helper()
	tok, err := s.token(u, -(s.oidc.AccessTTL + time.Hour))
	if err != nil {
		tb.Fatalf("oidc token: %v", err)
	}
	return tok
}

// ForgedToken returns a token with the claims the issuer would give u,
// naming this issuer, but signed with a key the issuer never published.
func (s *Sigstore) ForgedToken(tb testing.TB, u *User) string {
	tb.Helper()
	if u == nil {
		u = Jane()
	}
	kp, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	claims, err := u.Claims([]string{"openid", "email"}, &mockoidc.IDTokenClaims{RegisteredClaims: &jwt.RegisteredClaims{
		Issuer: s.Issuer, Subject: u.Subject, Audience: jwt.ClaimStrings{ClientID},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)),
	}})
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := kp.SignJWT(claims)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// TokenFile writes tok to a file, as --identity-token accepts.
func TokenFile(tb testing.TB, tok string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "id-token")
	if err := os.WriteFile(p, []byte(tok), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func (s *Sigstore) token(u *User, shift time.Duration) (string, error) {
	if u == nil {
		u = Jane()
	}
	return s.tokenFor(u, shift)
}

// GitHubWorkflow is a GitHub Actions job's identity, as GitHub's OIDC
// issuer puts it in a token (the claims Fulcio's github-workflow principal
// requires), for a Sigstore from StartGitHub.
type GitHubWorkflow struct {
	Repository string // owner/name
	Workflow   string // path in the repository, .github/workflows/release.yml
	Ref        string // refs/tags/v1.2.3
}

// WorkflowToken returns an ID token for the workflow run w.
func (s *Sigstore) WorkflowToken(tb testing.TB, w GitHubWorkflow) string {
	tb.Helper()
	tok, err := s.tokenFor(w, 0)
	if err != nil {
		tb.Fatalf("oidc token: %v", err)
	}
	return tok
}

// Identity is the certificate identity (SAN) Fulcio gives w's signatures.
func (w GitHubWorkflow) Identity() string {
	return "https://github.com/" + w.Repository + "/" + w.Workflow + "@" + w.Ref
}

func (w GitHubWorkflow) ID() string { return "repo:" + w.Repository + ":ref:" + w.Ref }

func (w GitHubWorkflow) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]string{"sub": w.ID()})
}

func (w GitHubWorkflow) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	owner, _, _ := strings.Cut(w.Repository, "/")
	const sha = "0123456789abcdef0123456789abcdef01234567"
	ref := w.Repository + "/" + w.Workflow + "@" + w.Ref
	return &githubClaims{IDTokenClaims: base, JobWorkflowRef: ref, JobWorkflowSha: sha, WorkflowRef: ref, WorkflowSha: sha,
		Sha: sha, EventName: "push", Repository: w.Repository, Workflow: "Release", Ref: w.Ref,
		RunnerEnvironment: "github-hosted", RepositoryID: "1", RepositoryOwner: owner, RepositoryOwnerID: "2",
		RepositoryVisibility: "public", RunID: "3", RunAttempt: "1"}, nil
}

type githubClaims struct {
	*mockoidc.IDTokenClaims
	JobWorkflowRef       string `json:"job_workflow_ref"`
	JobWorkflowSha       string `json:"job_workflow_sha"`
	WorkflowRef          string `json:"workflow_ref"`
	WorkflowSha          string `json:"workflow_sha"`
	Sha                  string `json:"sha"`
	EventName            string `json:"event_name"`
	Repository           string `json:"repository"`
	Workflow             string `json:"workflow"`
	Ref                  string `json:"ref"`
	RunnerEnvironment    string `json:"runner_environment"`
	RepositoryID         string `json:"repository_id"`
	RepositoryOwner      string `json:"repository_owner"`
	RepositoryOwnerID    string `json:"repository_owner_id"`
	RepositoryVisibility string `json:"repository_visibility"`
	RunID                string `json:"run_id"`
	RunAttempt           string `json:"run_attempt"`
}

func (s *Sigstore) tokenFor(u mockoidc.User, shift time.Duration) (string, error) {
	s.clock.Lock()
	defer s.clock.Unlock()
	s.oidc.QueueUser(u)
	s.oidc.FastForward(shift)
	defer s.oidc.FastForward(-shift)

	q := url.Values{
		"client_id": {ClientID}, "response_type": {"code"}, "scope": {"openid email"},
		"redirect_uri": {"http://127.0.0.1/callback"}, "state": {"state"}, "nonce": {"nonce"},
	}
	resp, err := s.tokens.Get(s.oidc.AuthorizationEndpoint() + "?" + q.Encode())
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return "", fmt.Errorf("authorize: %s, no code in %q", resp.Status, resp.Header.Get("Location"))
	}
	resp, err = s.tokens.PostForm(s.oidc.TokenEndpoint(), url.Values{
		"client_id": {ClientID}, "client_secret": {s.oidc.ClientSecret}, "grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "redirect_uri": {"http://127.0.0.1/callback"},
	})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tr struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.IDToken == "" {
		return "", errors.Join(fmt.Errorf("token endpoint: %s", resp.Status), err)
	}
	return tr.IDToken, nil
}

func pemPub(k crypto.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
