package securitykey

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/readiness-dev/readiness/internal/checks"
)

// CertFacts are the raw observations about one certificate, for the
// evidence document and custom policies.
type CertFacts struct {
	Fingerprint string `json:"fingerprint"`
	KeyID       string `json:"key_id"`
	Version     int    `json:"version"`
	KeyFacts
	// Status is valid, expired, revoked or invalid (no verifiable self-signature), as of evaluated_at.
	Status           string     `json:"status"`
	RevocationReason string     `json:"revocation_reason,omitempty"`
	UserIDs          []UIDFacts `json:"user_ids"`
	Subkeys          []SubFacts `json:"subkeys"`
	// CanEncrypt is true when a test message was encrypted to the certificate in memory.
	CanEncrypt bool `json:"can_encrypt"`
	// EncryptionKey is the key ID the test message was encrypted to.
	EncryptionKey string `json:"encryption_key,omitempty"`
	// EncryptionError says why the test encryption failed.
	EncryptionError string `json:"encryption_error,omitempty"`
	// SelfSignatureHashes are the hash algorithms of the self-signatures in effect.
	SelfSignatureHashes []string `json:"self_signature_hashes"`
	// SecretKeyMaterial is true when the certificate came with its secret key.
	SecretKeyMaterial bool `json:"secret_key_material,omitempty"`
}

// KeyFacts describe one key, primary or subkey.
type KeyFacts struct {
	Algorithm string `json:"algorithm"`
	Bits      int    `json:"bits,omitempty"`
	Curve     string `json:"curve,omitempty"`
	Created   string `json:"created"`
	// Expires is empty when the key never expires.
	Expires string `json:"expires,omitempty"`
}

// UIDFacts describe one user ID.
type UIDFacts struct {
	UserID  string `json:"user_id"`
	Email   string `json:"email,omitempty"`
	Valid   bool   `json:"valid"`
	Revoked bool   `json:"revoked,omitempty"`
	// SelfSignatureHash is the hash of the self-signature in effect.
	SelfSignatureHash string `json:"self_signature_hash,omitempty"`
}

// SubFacts describe one subkey.
type SubFacts struct {
	Fingerprint string `json:"fingerprint"`
	KeyID       string `json:"key_id"`
	KeyFacts
	Flags []string `json:"flags"`
	// Status is valid, expired, revoked or invalid judged on the subkey's
	// own binding; Usable also needs a valid primary key.
	Status      string `json:"status"`
	Usable      bool   `json:"usable"`
	CanEncrypt  bool   `json:"can_encrypt"`
	BindingHash string `json:"binding_hash,omitempty"`
	BacksigHash string `json:"backsig_hash,omitempty"`
}

// evaluator judges certificates as of one instant.
type evaluator struct {
	now     time.Time
	opts    Options
	keyPath string
	cfg     *packet.Config
}

func newEvaluator(now time.Time, opts Options, keyPath string) *evaluator {
	return &evaluator{now: now, opts: opts, keyPath: keyPath, cfg: permissiveConfig(now)}
}

// permissiveConfig verifies signatures as go-crypto would, at now, but
// without its own algorithm policy: weak algorithms and hashes are judged
// by this gate explicitly, and reported by their own rules, rather than
// making a certificate silently unusable.
func permissiveConfig(now time.Time) *packet.Config {
	return &packet.Config{
		Time:                      func() time.Time { return now },
		RejectPublicKeyAlgorithms: map[packet.PublicKeyAlgorithm]bool{},
		RejectHashAlgorithms:      map[crypto.Hash]bool{},
		RejectCurves:              map[packet.Curve]bool{},
		MinRSABits:                1,
	}
}

// certReport is the outcome for one certificate.
type certReport struct {
	Facts    CertFacts
	Findings []checks.Finding
	// Emails maps each e-mail address of a user ID with a verifying,
	// unrevoked self-signature to true, and of any other user ID to false.
	Emails map[string]bool
	// Fingerprints and KeyIDs of the primary key and every subkey.
	Fingerprints []string
	// PromiseEnd is when the last usable encryption key stops being usable;
	// zero when never.
	PromiseEnd time.Time
}

func (ev *evaluator) loc(c *cert) *checks.Location {
	return &checks.Location{Path: ev.keyPath, Line: c.Line}
}

// evaluate judges one certificate as of ev.now, phase by phase (see
// certEval): user IDs, the primary key, subkeys, the encryption proof,
// expiry, then the hashes the phases saw.
func (ev *evaluator) evaluate(c *cert) (rep certReport) {
	defer func() {
		// go-crypto is fuzzed, but a certificate is outside input: a panic
		// in the library becomes a finding, never a crash of the gate.
		if r := recover(); r != nil {
			fpr := fingerprintHex(c.Entity.PrimaryKey.Fingerprint)
			rep.Findings = append(rep.Findings, book.Finding("KEY-MALFORMED", fpr+"/library",
				fmt.Sprintf("certificate %s could not be evaluated: the OpenPGP library failed on it (%v)", fpr, r), ev.loc(c)))
		}
	}()
	x := ev.newCertEval(c, &rep)
	x.userIDs()
	x.primaryKey()
	x.subkeys()
	x.encryption()
	x.expiry()
	x.selfSignatureHashes()
	// Facts are recorded only for a certificate evaluated to the end.
	rep.Facts = x.f
	return rep
}

// certEval is the evaluation of one certificate. Each phase records facts
// and findings, and leaves what the later phases need; findings keep the
// order of the phases.
type certEval struct {
	ev  *evaluator
	c   *cert
	e   *openpgp.Entity
	pk  *packet.PublicKey
	fpr string
	// rep is the report being built (the evaluate's result, so that a
	// panic keeps what was found before it); f its facts.
	rep *certReport
	f   CertFacts

	// Self-signature hashes seen, and the broken ones, by every phase.
	hashes     map[string]bool
	weakHashes []string

	// From the user IDs.
	anyUIDVerifies bool
	badUIDs        []string
	// From the primary key.
	primarySig *packet.Signature
	primaryOK  bool
	primaryEnd time.Time
	// From the subkeys and the primary key: which keys can encrypt, and
	// until when.
	encCapable        []string
	encEnd            time.Time
	encNever          bool
	primaryCanEncrypt bool
}

func (ev *evaluator) newCertEval(c *cert, rep *certReport) *certEval {
	e := c.Entity
	pk := e.PrimaryKey
	fpr := fingerprintHex(pk.Fingerprint)
	x := &certEval{
		ev: ev, c: c, e: e, pk: pk, fpr: fpr, rep: rep,
		f: CertFacts{
			Fingerprint: fpr, KeyID: keyIDHex(pk.KeyId), Version: pk.Version,
			KeyFacts: keyFacts(pk), UserIDs: []UIDFacts{}, Subkeys: []SubFacts{}, SelfSignatureHashes: []string{},
			SecretKeyMaterial: e.PrivateKey != nil,
		},
		hashes: map[string]bool{},
	}
	rep.Emails = map[string]bool{}
	rep.Fingerprints = []string{fpr}
	return x
}

func (x *certEval) add(f checks.Finding) { x.rep.Findings = append(x.rep.Findings, f) }

// loc is where the certificate is: each finding gets its own.
func (x *certEval) loc() *checks.Location { return x.ev.loc(x.c) }

// noteHash records the hash of a self-signature in effect, and what it
// signs when the hash is broken; it returns the hash's name.
func (x *certEval) noteHash(what string, h crypto.Hash) string {
	name := cryptoHashName(h)
	x.hashes[name] = true
	if h == crypto.SHA1 || h == crypto.MD5 || h == crypto.RIPEMD160 {
		x.weakHashes = append(x.weakHashes, fmt.Sprintf("%s (%s)", what, name))
	}
	return name
}

// userIDs records each user ID, sorted for stable output, and which carry
// a self-signature that verifies.
func (x *certEval) userIDs() {
	ev, e, pk := x.ev, x.e, x.pk
	names := make([]string, 0, len(e.Identities))
	for n := range e.Identities {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		id := e.Identities[n]
		u := UIDFacts{UserID: truncate(oneLine(n), 200), Email: identityEmail(id)}
		verifies := false
		for _, s := range id.SelfCertifications {
			if pk.VerifyUserIdSignature(id.Name, pk, s.Packet) == nil {
				verifies = true
				break
			}
		}
		sig, err := id.Verify(ev.now, ev.cfg)
		u.Valid = err == nil
		u.Revoked = id.Revoked(sig, ev.now, ev.cfg)
		if sig != nil {
			u.SelfSignatureHash = x.noteHash(fmt.Sprintf("self-signature on user ID %q", uidLabel(n)), sig.Hash)
		}
		if verifies {
			x.anyUIDVerifies = true
		} else {
			x.badUIDs = append(x.badUIDs, uidLabel(n))
		}
		if u.Email != "" {
			// A user ID counts for the contact when its self-signature
			// verifies and it is not revoked; whether the certificate is
			// valid now is judged (and reported) on its own.
			x.rep.Emails[u.Email] = x.rep.Emails[u.Email] || (verifies && !u.Revoked)
		}
		x.f.UserIDs = append(x.f.UserIDs, u)
	}
}

// primaryKey judges the certificate as a whole: revoked, without a
// verifying user ID, expired, otherwise invalid, or valid; then the user
// IDs that fail where another verifies, and the primary key's algorithm.
func (x *certEval) primaryKey() {
	ev, e, pk, fpr := x.ev, x.e, x.pk, x.fpr
	revoked := e.Revoked(ev.now)
	primarySig, perr := e.VerifyPrimaryKey(ev.now, ev.cfg)
	x.primarySig, x.primaryOK = primarySig, perr == nil
	if primarySig != nil {
		x.primaryEnd = expiry(pk, primarySig)
		if d, _ := e.LatestValidDirectSignature(ev.now, ev.cfg); d != nil {
			if t := expiry(pk, d); !t.IsZero() && (x.primaryEnd.IsZero() || t.Before(x.primaryEnd)) {
				x.primaryEnd = t
			}
			x.noteHash("direct-key self-signature", d.Hash)
		}
		x.f.Expires = formatTime(x.primaryEnd)
	}
	switch {
	case revoked:
		x.f.Status = "revoked"
		reason := revocationReason(e)
		x.f.RevocationReason = reason
		msg := fmt.Sprintf("certificate %s is revoked", fpr)
		if reason != "" {
			msg += " (" + reason + ")"
		}
		x.add(book.Finding("KEY-REVOKED", fpr, msg+": nobody can encrypt a report to it", x.loc()).With(map[string]any{"fingerprint": fpr, "reason": reason}))
	case !x.anyUIDVerifies && pk.Version < 6:
		x.f.Status = "invalid"
		x.add(book.Finding("KEY-BAD-SELF-SIG", fpr,
			fmt.Sprintf("certificate %s has no user ID with a self-signature that verifies: OpenPGP tools will reject it", fpr),
			x.loc()).With(map[string]any{"fingerprint": fpr}))
	case errors.Is(perr, pgperrors.ErrKeyExpired):
		x.f.Status = "expired"
		when := "its self-signature expired"
		if !x.primaryEnd.IsZero() {
			when = "on " + day(x.primaryEnd)
		}
		x.add(book.Finding("KEY-EXPIRED", fpr,
			fmt.Sprintf("certificate %s expired %s: nobody can encrypt a report to it", fpr, when),
			x.loc()).With(map[string]any{"fingerprint": fpr, "expires": formatTime(x.primaryEnd)}))
	case perr != nil:
		x.f.Status = "invalid"
		why := "no user ID self-signature is valid on " + day(ev.now)
		if allRevoked(x.f.UserIDs) {
			why = "every user ID is revoked"
		} else if pk.CreationTime.After(ev.now) {
			why = "the key is dated " + day(pk.CreationTime) + ", after " + day(ev.now)
		}
		x.add(book.Finding("KEY-BAD-SELF-SIG", fpr,
			fmt.Sprintf("certificate %s is not valid: %s", fpr, why), x.loc()).With(map[string]any{"fingerprint": fpr}))
	default:
		x.f.Status = "valid"
	}
	if len(x.badUIDs) > 0 && x.anyUIDVerifies {
		x.add(book.Case("KEY-BAD-SELF-SIG", "some-parts", fpr+"/uid",
			fmt.Sprintf("certificate %s carries user IDs whose self-signature does not verify (%s): they were altered or forged and are ignored",
				fpr, strings.Join(x.badUIDs, ", ")), x.loc()).With(map[string]any{"fingerprint": fpr, "user_ids": x.badUIDs}))
	}
	x.judgeAlgorithm(pk, fpr, "primary key")
}

// subkeys records each subkey, which can encrypt and until when, judges
// the usable ones' algorithms, and reports bindings that do not verify.
func (x *certEval) subkeys() {
	var badSubs []string
	for _, sk := range x.e.Subkeys {
		s := x.ev.subkey(x.e, &sk)
		x.rep.Fingerprints = append(x.rep.Fingerprints, s.Fingerprint)
		if !s.verifies {
			badSubs = append(badSubs, fmt.Sprintf("%s (%s)", s.Fingerprint, s.verifyErr))
		}
		s.Usable = s.Status == "valid" && x.primaryOK
		if s.sig != nil {
			s.BindingHash = x.noteHash("binding signature of subkey "+s.KeyID, s.sig.Hash)
			if s.sig.FlagSign && s.sig.EmbeddedSignature != nil {
				s.BacksigHash = x.noteHash("back-signature of subkey "+s.KeyID, s.sig.EmbeddedSignature.Hash)
			}
		}
		if s.encFlag && sk.PublicKey.PubKeyAlgo.CanEncrypt() {
			x.encCapable = append(x.encCapable, subkeyState(s))
			if s.Usable {
				s.CanEncrypt = true
				if s.end.IsZero() {
					x.encNever = true
				} else if s.end.After(x.encEnd) {
					x.encEnd = s.end
				}
			}
		}
		if s.Usable {
			x.judgeAlgorithm(sk.PublicKey, s.Fingerprint, "subkey")
		}
		x.f.Subkeys = append(x.f.Subkeys, s.SubFacts)
	}
	if len(badSubs) > 0 {
		x.add(book.Case("KEY-BAD-SELF-SIG", "some-parts", x.fpr+"/subkeys",
			fmt.Sprintf("certificate %s has subkeys whose binding signature does not verify, so they cannot be used: %s",
				x.fpr, strings.Join(badSubs, "; ")), x.loc()).With(map[string]any{"fingerprint": x.fpr}))
	}
	primarySig := x.primarySig
	x.primaryCanEncrypt = x.primaryOK && primarySig != nil && primarySig.FlagsValid &&
		(primarySig.FlagEncryptCommunications || primarySig.FlagEncryptStorage) && x.pk.PubKeyAlgo.CanEncrypt()
	if x.primaryCanEncrypt {
		x.encNever = x.encNever || x.primaryEnd.IsZero()
		if x.primaryEnd.After(x.encEnd) {
			x.encEnd = x.primaryEnd
		}
	}
}

// encryption proves the promise: it encrypts a message to the
// certificate, in memory.
func (x *certEval) encryption() {
	keyID, encErr := x.ev.proveEncryption(x.e)
	if encErr == nil {
		x.f.CanEncrypt, x.f.EncryptionKey = true, keyID
		return
	}
	x.f.EncryptionError = oneLine(encErr.Error())
	x.add(book.Finding("KEY-NO-ENCRYPTION", x.fpr,
		fmt.Sprintf("no report can be encrypted to certificate %s: %s", x.fpr, noEncryptionReason(x.f.Status, x.encCapable, x.primaryCanEncrypt)),
		x.loc()).With(map[string]any{"fingerprint": x.fpr, "error": x.f.EncryptionError}))
}

// expiry judges how long the promise lasts: while the primary key and at
// least one encryption key are valid.
func (x *certEval) expiry() {
	if !x.primaryOK {
		return
	}
	ev, fpr := x.ev, x.fpr
	if x.primaryEnd.IsZero() {
		x.add(book.Finding("KEY-NO-EXPIRY", fpr,
			fmt.Sprintf("certificate %s never expires: if its secret key is lost, the published key stays \"valid\" forever and reports go to a key nobody can read", fpr),
			x.loc()).With(map[string]any{"fingerprint": fpr}))
	}
	end := x.primaryEnd
	what := "certificate " + fpr
	if x.f.CanEncrypt && !x.encNever && (end.IsZero() || x.encEnd.Before(end)) {
		end, what = x.encEnd, "the last encryption subkey of certificate "+fpr
	}
	x.rep.PromiseEnd = end
	if end.IsZero() || !x.f.CanEncrypt {
		return
	}
	left := end.Sub(ev.now)
	days := int(left.Hours() / 24)
	props := map[string]any{"fingerprint": fpr, "expires": formatTime(end), "days_left": days}
	switch {
	case left < ev.opts.ExpiryFail.D():
		x.add(book.Finding("KEY-EXPIRING-SOON", fpr,
			fmt.Sprintf("%s expires on %s, in %d days (the gate fails under %s)", what, day(end), days, humanDays(ev.opts.ExpiryFail.D())), x.loc()).With(props))
	case left < ev.opts.ExpiryWarn.D():
		x.add(book.Case("KEY-EXPIRING-SOON", "within-warn", fpr,
			fmt.Sprintf("%s expires on %s, in %d days (the gate warns under %s)", what, day(end), days, humanDays(ev.opts.ExpiryWarn.D())), x.loc()).With(props))
	}
}

// selfSignatureHashes reports the broken hashes the phases saw and
// records every hash.
func (x *certEval) selfSignatureHashes() {
	if len(x.weakHashes) > 0 {
		x.add(book.Finding("KEY-WEAK-HASH", x.fpr,
			fmt.Sprintf("certificate %s is bound by signatures over broken hash algorithms: %s", x.fpr, strings.Join(x.weakHashes, ", ")),
			x.loc()).With(map[string]any{"fingerprint": x.fpr, "signatures": x.weakHashes}))
	}
	for h := range x.hashes {
		x.f.SelfSignatureHashes = append(x.f.SelfSignatureHashes, h)
	}
	sort.Strings(x.f.SelfSignatureHashes)
}

// subkeyEval is SubFacts plus what the evaluation needs.
type subkeyEval struct {
	SubFacts
	sig       *packet.Signature
	verifies  bool
	verifyErr string
	encFlag   bool
	end       time.Time
}

func (ev *evaluator) subkey(e *openpgp.Entity, sk *openpgp.Subkey) subkeyEval {
	pub := sk.PublicKey
	s := subkeyEval{SubFacts: SubFacts{Fingerprint: fingerprintHex(pub.Fingerprint), KeyID: keyIDHex(pub.KeyId), KeyFacts: keyFacts(pub), Flags: []string{}}}
	var latest *packet.Signature
	for _, b := range sk.Bindings {
		err := e.PrimaryKey.VerifyKeySignature(pub, b.Packet)
		if err == nil {
			s.verifies = true
			if latest == nil || b.Packet.CreationTime.After(latest.CreationTime) {
				latest = b.Packet
			}
		} else if s.verifyErr == "" {
			s.verifyErr = describeSigError(err)
		}
	}
	if len(sk.Bindings) == 0 {
		s.verifyErr = "no binding signature"
	}
	sig, err := sk.Verify(ev.now, ev.cfg)
	switch {
	case err == nil:
		s.Status = "valid"
	case errors.Is(err, pgperrors.ErrKeyRevoked):
		s.Status = "revoked"
	case errors.Is(err, pgperrors.ErrKeyExpired):
		s.Status = "expired"
	default:
		s.Status = "invalid"
	}
	if sig == nil {
		// Expired or revoked subkeys still have a binding; report its data.
		sig = latest
	}
	s.sig = sig
	if sig != nil {
		s.end = expiry(pub, sig)
		s.Expires = formatTime(s.end)
		if s.Status == "invalid" && s.verifies && !s.end.IsZero() && !s.end.After(ev.now) {
			s.Status = "expired"
		}
		s.Flags = keyFlags(sig)
		s.encFlag = !sig.FlagsValid || sig.FlagEncryptCommunications || sig.FlagEncryptStorage
	}
	return s
}

// judgeAlgorithm reports weak public-key algorithms and sizes.
func (x *certEval) judgeAlgorithm(pk *packet.PublicKey, keyFpr, role string) {
	label := keyLabel(pk)
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly, packet.PubKeyAlgoRSASignOnly:
		bits, _ := pk.BitLength()
		props := map[string]any{"fingerprint": keyFpr, "bits": int(bits)}
		switch {
		case int(bits) < criticalRSABits:
			x.add(book.Case("KEY-WEAK-RSA", "factorable", keyFpr,
				fmt.Sprintf("the %s %s is %s: RSA under %d bits can be factored by a well-funded attacker", role, keyFpr, label, criticalRSABits), x.loc()).With(props))
		case int(bits) < x.ev.opts.MinRSABits:
			x.add(book.Finding("KEY-WEAK-RSA", keyFpr,
				fmt.Sprintf("the %s %s is %s, under the %d bits required for keys that must protect reports for years", role, keyFpr, label, x.ev.opts.MinRSABits), x.loc()).With(props))
		}
	case packet.PubKeyAlgoDSA, packet.PubKeyAlgoElGamal:
		x.add(book.Finding("KEY-WEAK-ALGO", keyFpr,
			fmt.Sprintf("the %s %s is %s: DSA and ElGamal are deprecated (RFC 9580) and many OpenPGP tools refuse them", role, keyFpr, label),
			x.loc()).With(map[string]any{"fingerprint": keyFpr, "algorithm": algoName(pk.PubKeyAlgo)}))
	case packet.PubKeyAlgoECDSA, packet.PubKeyAlgoECDH, packet.PubKeyAlgoEdDSA:
		if curve, err := pk.Curve(); err == nil && curve == packet.CurveSecP256k1 {
			x.add(book.Finding("KEY-WEAK-ALGO", keyFpr,
				fmt.Sprintf("the %s %s uses the curve secp256k1, which OpenPGP does not standardise and most tools refuse", role, keyFpr),
				x.loc()).With(map[string]any{"fingerprint": keyFpr, "algorithm": algoName(pk.PubKeyAlgo), "curve": string(curve)}))
		}
	}
}

// criticalRSABits is the size under which an RSA key is broken outright.
const criticalRSABits = 2048

// proveEncryption encrypts a short message to e in memory and discards it.
func (ev *evaluator) proveEncryption(e *openpgp.Entity) (keyID string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the OpenPGP library failed while encrypting (%v)", r)
		}
	}()
	k, err := e.EncryptionKeyWithError(ev.now, ev.cfg)
	if err != nil {
		return "", err
	}
	now := ev.now
	var sink countingWriter
	w, err := openpgp.EncryptWithParams(&sink, []*openpgp.Entity{e}, nil, &openpgp.EncryptParams{Config: ev.cfg, EncryptionTime: &now})
	if err != nil {
		return "", err
	}
	if _, err := io.WriteString(w, "readiness security-key probe: encrypted in memory and discarded\n"); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	if sink.n == 0 {
		return "", fmt.Errorf("encryption produced no output")
	}
	return keyIDHex(k.PublicKey.KeyId), nil
}

type countingWriter struct{ n int }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

func noEncryptionReason(status string, encCapable []string, primaryCan bool) string {
	switch status {
	case "revoked":
		return "the certificate is revoked, which kills every subkey"
	case "expired":
		return "the primary key has expired, which kills every subkey whatever its own expiry says"
	case "invalid":
		return "the certificate itself is not valid"
	}
	if len(encCapable) == 0 && !primaryCan {
		return "it has no encryption-capable key at all (a sign-only key); add an encryption subkey (gpg --quick-add-key FPR cv25519 encr 2y)"
	}
	return "none of its encryption subkeys is usable: " + strings.Join(encCapable, "; ")
}

func subkeyState(s subkeyEval) string {
	switch s.Status {
	case "expired":
		return fmt.Sprintf("%s expired on %s", s.KeyID, s.Expires[:min(10, len(s.Expires))])
	case "revoked":
		return s.KeyID + " is revoked"
	case "invalid":
		return s.KeyID + " has no valid binding signature"
	}
	return s.KeyID + " is valid"
}

func allRevoked(u []UIDFacts) bool {
	if len(u) == 0 {
		return false
	}
	for _, x := range u {
		if !x.Revoked {
			return false
		}
	}
	return true
}

func revocationReason(e *openpgp.Entity) string {
	for _, r := range e.Revocations {
		if r.Valid == nil || !*r.Valid {
			continue
		}
		var parts []string
		if r.Packet.RevocationReason != nil {
			parts = append(parts, reasonName(*r.Packet.RevocationReason))
		}
		if t := truncate(oneLine(r.Packet.RevocationReasonText), 120); t != "" {
			parts = append(parts, fmt.Sprintf("%q", t))
		}
		parts = append(parts, "since "+day(r.Packet.CreationTime))
		return strings.Join(parts, ", ")
	}
	return ""
}

func reasonName(r packet.ReasonForRevocation) string {
	switch r {
	case packet.KeySuperseded:
		return "superseded"
	case packet.KeyCompromised:
		return "compromised"
	case packet.KeyRetired:
		return "retired"
	case packet.NoReason:
		return "no reason given"
	}
	return "reason unknown"
}

// expiry is when pk stops being valid by sig's key lifetime; zero = never.
func expiry(pk *packet.PublicKey, sig *packet.Signature) time.Time {
	if sig == nil || sig.KeyLifetimeSecs == nil || *sig.KeyLifetimeSecs == 0 {
		return time.Time{}
	}
	return pk.CreationTime.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second).UTC()
}

func keyFacts(pk *packet.PublicKey) KeyFacts {
	k := KeyFacts{Algorithm: algoName(pk.PubKeyAlgo), Created: formatTime(pk.CreationTime)}
	if c, err := pk.Curve(); err == nil {
		// go-crypto's BitLength of an elliptic-curve key is the length of
		// its encoded point (263 for Ed25519), not the curve's size.
		k.Curve, k.Bits = curveName(pk.PubKeyAlgo, c)
		return k
	}
	if bits, err := pk.BitLength(); err == nil {
		k.Bits = int(bits)
	}
	return k
}

// curveName names a curve as gpg does (ed25519, cv25519, nistp256 …) and
// gives its size in bits.
func curveName(a packet.PublicKeyAlgorithm, c packet.Curve) (string, int) {
	switch c {
	case packet.Curve25519:
		if a == packet.PubKeyAlgoEdDSA || a == packet.PubKeyAlgoEd25519 {
			return "ed25519", 255
		}
		return "cv25519", 255
	case packet.Curve448:
		if a == packet.PubKeyAlgoEdDSA || a == packet.PubKeyAlgoEd448 {
			return "ed448", 448
		}
		return "cv448", 448
	case packet.CurveNistP256:
		return "nistp256", 256
	case packet.CurveNistP384:
		return "nistp384", 384
	case packet.CurveNistP521:
		return "nistp521", 521
	case packet.CurveBrainpoolP256:
		return "brainpoolP256r1", 256
	case packet.CurveBrainpoolP384:
		return "brainpoolP384r1", 384
	case packet.CurveBrainpoolP512:
		return "brainpoolP512r1", 512
	case packet.CurveSecP256k1:
		return "secp256k1", 256
	}
	return strings.ToLower(string(c)), 0
}

func keyFlags(sig *packet.Signature) []string {
	if !sig.FlagsValid {
		return []string{"unspecified"}
	}
	var out []string
	for _, f := range []struct {
		on   bool
		name string
	}{
		{sig.FlagCertify, "certify"}, {sig.FlagSign, "sign"},
		{sig.FlagEncryptCommunications, "encrypt-communications"}, {sig.FlagEncryptStorage, "encrypt-storage"},
		{sig.FlagAuthenticate, "authenticate"},
	} {
		if f.on {
			out = append(out, f.name)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func algoName(a packet.PublicKeyAlgorithm) string {
	switch a {
	case packet.PubKeyAlgoRSA:
		return "rsa"
	case packet.PubKeyAlgoRSAEncryptOnly:
		return "rsa-encrypt-only"
	case packet.PubKeyAlgoRSASignOnly:
		return "rsa-sign-only"
	case packet.PubKeyAlgoElGamal:
		return "elgamal"
	case packet.PubKeyAlgoDSA:
		return "dsa"
	case packet.PubKeyAlgoECDH:
		return "ecdh"
	case packet.PubKeyAlgoECDSA:
		return "ecdsa"
	case packet.PubKeyAlgoEdDSA:
		return "eddsa"
	case packet.PubKeyAlgoX25519:
		return "x25519"
	case packet.PubKeyAlgoX448:
		return "x448"
	case packet.PubKeyAlgoEd25519:
		return "ed25519"
	case packet.PubKeyAlgoEd448:
		return "ed448"
	}
	return fmt.Sprintf("algorithm-%d", int(a))
}

// keyLabel names a key the way gpg users know it: RSA-3072, Ed25519, Cv25519.
func keyLabel(pk *packet.PublicKey) string {
	bits, _ := pk.BitLength()
	curve, _ := pk.Curve()
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly, packet.PubKeyAlgoRSASignOnly:
		return fmt.Sprintf("RSA-%d", bits)
	case packet.PubKeyAlgoDSA:
		return fmt.Sprintf("DSA-%d", bits)
	case packet.PubKeyAlgoElGamal:
		return fmt.Sprintf("ElGamal-%d", bits)
	case packet.PubKeyAlgoEdDSA:
		if curve == packet.Curve25519 {
			return "Ed25519"
		}
		return "EdDSA " + string(curve)
	case packet.PubKeyAlgoECDH:
		if curve == packet.Curve25519 {
			return "Cv25519"
		}
		return "ECDH " + string(curve)
	case packet.PubKeyAlgoECDSA:
		return "ECDSA " + string(curve)
	}
	return algoName(pk.PubKeyAlgo)
}

func cryptoHashName(h crypto.Hash) string {
	switch h {
	case crypto.MD5:
		return "MD5"
	case crypto.SHA1:
		return "SHA-1"
	case crypto.RIPEMD160:
		return "RIPEMD-160"
	case crypto.SHA224:
		return "SHA-224"
	case crypto.SHA256:
		return "SHA-256"
	case crypto.SHA384:
		return "SHA-384"
	case crypto.SHA512:
		return "SHA-512"
	case crypto.SHA3_256:
		return "SHA3-256"
	case crypto.SHA3_512:
		return "SHA3-512"
	}
	return h.String()
}

func describeSigError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "openpgp: ")
	return truncate(oneLine(msg), 120)
}

func identityEmail(id *openpgp.Identity) string {
	if id.UserId != nil && id.UserId.Email != "" {
		return strings.ToLower(id.UserId.Email)
	}
	return uidEmail(id.Name)
}

// uidEmail extracts the address of "Name (comment) <addr>" or a bare address.
func uidEmail(uid string) string {
	if i := strings.LastIndexByte(uid, '<'); i >= 0 {
		if j := strings.IndexByte(uid[i:], '>'); j > 1 {
			return strings.ToLower(strings.TrimSpace(uid[i+1 : i+j]))
		}
	}
	s := strings.TrimSpace(uid)
	if strings.Count(s, "@") == 1 && !strings.ContainsAny(s, " <>\t") {
		return strings.ToLower(s)
	}
	return ""
}

func keyIDHex(id uint64) string { return fmt.Sprintf("%016X", id) }

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func humanDays(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	return d.String()
}
