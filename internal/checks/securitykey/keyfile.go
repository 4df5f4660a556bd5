package securitykey

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/readiness-dev/readiness/internal/disclosure"
)

// Armor block labels, the same disclosure looks for in SECURITY.md.
const (
	publicKeyBlock  = disclosure.PublicKeyBlock
	privateKeyBlock = disclosure.PrivateKeyBlock
)

// keyFile is what parseKeyFile makes of the bytes of a published key file.
// It holds fingerprints and parsed public keys; it never holds a copy of
// the file's text, so nothing derived from it can leak secret key material.
type keyFile struct {
	// Armored is true when the file holds at least one armored block.
	Armored bool
	// Blocks lists the armor labels with their lines.
	Blocks []blockInfo
	// Problems are structural faults: each becomes one finding.
	Problems []fileProblem
	// Secrets are the places that hold secret key material.
	Secrets []secretInfo
	// Certs are the certificates go-crypto could read, in file order.
	Certs []*cert
	// WeakSigs are self-signatures whose hash go-crypto cannot even parse
	// (MD5, RIPEMD-160): it drops them silently, so they are found here.
	WeakSigs []rawWeakSig
}

type blockInfo struct {
	Type string `json:"type"`
	Line int    `json:"line,omitempty"`
}

// fileProblem is a fault of the file as a whole.
type fileProblem struct {
	Rule string
	// Kind is the stable suffix of the finding ID.
	Kind string
	Line int
	Msg  string
}

// secretInfo says where secret key material was found, by fingerprint only.
type secretInfo struct {
	Line         int
	Labelled     bool // the armor said PRIVATE KEY BLOCK
	Fingerprints []string
	// Protected is true when every secret key packet go-crypto could read
	// is encrypted with a passphrase; false when any is in the clear.
	Protected bool
	Parsed    bool
}

// cert is one certificate (transferable public key) read from the file.
type cert struct {
	Entity *openpgp.Entity
	// Line is the BEGIN line of the block that held it (0 for binary).
	Line int
}

// rawWeakSig is a self-signature made with a hash go-crypto cannot parse.
type rawWeakSig struct {
	Fingerprint string
	Component   string
	Hash        int
	Line        int
}

// parseKeyFile examines data; it never fails, it reports.
func parseKeyFile(data []byte) *keyFile {
	kf := &keyFile{}
	if len(bytes.TrimSpace(data)) == 0 {
		kf.problem("KEY-EMPTY", "empty", 0, "the key file is empty")
		return kf
	}
	blocks := parseArmor(data)
	if len(blocks) > 0 {
		kf.Armored = true
		for _, b := range blocks {
			kf.Blocks = append(kf.Blocks, blockInfo{Type: b.Type, Line: b.Line})
			kf.readBlock(b)
		}
		if len(kf.Certs) == 0 && len(kf.Problems) == 0 && len(kf.Secrets) == 0 {
			kf.problem("KEY-MALFORMED", "no-certificate", 0, "the file holds no OpenPGP certificate")
		}
		return kf
	}
	if data[0]&0x80 != 0 {
		// Binary OpenPGP (what `gpg --export` without --armor writes).
		pkts, err := scanPackets(data)
		if err == nil && len(pkts) > 0 && (pkts[0].Tag == tagPublicKey || pkts[0].Tag == tagSecretKey) {
			kf.problem("KEY-NOT-ARMORED", "binary", 0, "the key file holds binary OpenPGP data, not an ASCII-armored public key block")
			kf.readPackets(data, 0, false)
			return kf
		}
		if err != nil && len(pkts) > 0 {
			kf.problem("KEY-MALFORMED", "packets", 0, "the key file holds binary OpenPGP data that is damaged: "+err.Error())
			return kf
		}
	}
	kf.problem("KEY-MALFORMED", "not-openpgp", 0, "the key file is not an OpenPGP key: it holds no \"-----BEGIN PGP PUBLIC KEY BLOCK-----\" armor and no OpenPGP packets")
	return kf
}

func (kf *keyFile) problem(rule, kind string, line int, msg string) {
	kf.Problems = append(kf.Problems, fileProblem{Rule: rule, Kind: kind, Line: line, Msg: msg})
}

func (kf *keyFile) readBlock(b armorBlock) {
	labelledPrivate := b.Type == privateKeyBlock
	if labelledPrivate {
		// Whatever else is wrong with it, a private block is a leak.
		kf.Secrets = append(kf.Secrets, secretInfo{Line: b.Line, Labelled: true})
	}
	if b.Problem != armorOK {
		kf.problem("KEY-MALFORMED", string(b.Problem), b.Line, b.Detail)
		return
	}
	if b.Type != publicKeyBlock && !labelledPrivate {
		kf.problem("KEY-MALFORMED", "block-type", b.Line, fmt.Sprintf("the armored block on line %d is a %q, not a %q", b.Line, b.Type, publicKeyBlock))
		return
	}
	kf.readPackets(b.Body, b.Line, labelledPrivate)
}

// readPackets reads the certificates in one packet sequence.
func (kf *keyFile) readPackets(body []byte, line int, labelledPrivate bool) {
	where := "the key data"
	if line > 0 {
		where = fmt.Sprintf("the armored block on line %d", line)
	}
	pkts, err := scanPackets(body)
	var secret bool
	for _, p := range pkts {
		if p.Tag == tagSecretKey || p.Tag == tagSecretSubkey {
			secret = true
		}
	}
	if secret && !labelledPrivate {
		kf.Secrets = append(kf.Secrets, secretInfo{Line: line})
	}
	if err != nil {
		kf.problem("KEY-MALFORMED", "packets", line, fmt.Sprintf("%s is damaged: %v", where, err))
		return
	}
	if len(pkts) == 0 {
		kf.problem("KEY-MALFORMED", "no-certificate", line, where+" is empty")
		return
	}
	if pkts[0].Tag != tagPublicKey && pkts[0].Tag != tagSecretKey {
		kf.problem("KEY-MALFORMED", "no-certificate", line, fmt.Sprintf("%s does not start with a key packet (it starts with packet tag %d)", where, pkts[0].Tag))
		return
	}
	kf.WeakSigs = append(kf.WeakSigs, unparseableWeakSigs(pkts, line)...)

	ents, errs := readEntities(body)
	for _, e := range errs {
		kf.problem("KEY-MALFORMED", "certificate", line, fmt.Sprintf("%s holds a certificate that cannot be read: %s", where, describePGPError(e)))
	}
	for _, e := range ents {
		kf.Certs = append(kf.Certs, &cert{Entity: e, Line: line})
	}
	if secret || labelledPrivate {
		s := &kf.Secrets[len(kf.Secrets)-1]
		s.Protected = true
		for _, e := range ents {
			if e.PrivateKey == nil {
				continue
			}
			s.Parsed = true
			s.Fingerprints = append(s.Fingerprints, fingerprintHex(e.PrimaryKey.Fingerprint))
			if !e.PrivateKey.Encrypted {
				s.Protected = false
			}
			for _, sk := range e.Subkeys {
				if sk.PrivateKey != nil && !sk.PrivateKey.Encrypted && !sk.PrivateKey.Dummy() {
					s.Protected = false
				}
			}
		}
		if !s.Parsed {
			s.Protected = false
		}
	}
}

// readEntities reads every certificate, keeping the errors that go-crypto's
// ReadKeyRing would swallow when it skips an unreadable certificate.
func readEntities(body []byte) (ents []*openpgp.Entity, errs []error) {
	defer func() {
		if r := recover(); r != nil {
			errs = append(errs, fmt.Errorf("the OpenPGP library failed on it (%v)", r))
		}
	}()
	pr := packet.NewReader(bytes.NewReader(body))
	for {
		e, err := openpgp.ReadEntity(pr)
		if err == io.EOF {
			return ents, errs
		}
		if err != nil {
			errs = append(errs, err)
			if err := skipToNextKey(pr); err != nil {
				if err != io.EOF {
					errs = append(errs, err)
				}
				return ents, errs
			}
			continue
		}
		ents = append(ents, e)
		if len(ents)+len(errs) > maxCerts {
			errs = append(errs, fmt.Errorf("more than %d certificates; the rest were not read", maxCerts))
			return ents, errs
		}
	}
}

// maxCerts bounds the work on a hostile file.
const maxCerts = 64

// skipToNextKey is go-crypto's readToNextPublicKey, which is unexported.
func skipToNextKey(pr *packet.Reader) error {
	for {
		p, err := pr.Next()
		if err == io.EOF {
			return err
		}
		if err != nil {
			var ue pgperrors.UnsupportedError
			if errors.As(err, &ue) {
				continue
			}
			return err
		}
		switch k := p.(type) {
		case *packet.PublicKey:
			if !k.IsSubkey {
				pr.Unread(p)
				return nil
			}
		case *packet.PrivateKey:
			if !k.IsSubkey {
				pr.Unread(p)
				return nil
			}
		}
	}
}

// describePGPError turns a go-crypto error into a clause for a sentence.
func describePGPError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "openpgp: ")
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "its packets end early (truncated)"
	case strings.Contains(msg, "without any identities"):
		return "it has no user ID with a self-signature OpenPGP can verify"
	}
	return oneLine(msg)
}

// unparseableWeakSigs finds self-signatures (certifications, subkey
// bindings, direct-key signatures) made with a hash go-crypto cannot parse.
func unparseableWeakSigs(pkts []rawPacket, line int) []rawWeakSig {
	var out []rawWeakSig
	var primaryFpr []byte
	var component string
	for _, p := range pkts {
		switch p.Tag {
		case tagPublicKey, tagSecretKey:
			primaryFpr = nil
			if p.Tag == tagPublicKey {
				primaryFpr, _ = rawFingerprint(p.Body)
			}
			component = "the primary key"
		case tagUserID:
			component = fmt.Sprintf("user ID %q", uidLabel(string(p.Body)))
		case tagPublicSubkey, tagSecretSubkey:
			component = "a subkey"
			if p.Tag == tagPublicSubkey {
				if f, ok := rawFingerprint(p.Body); ok {
					component = "subkey " + fingerprintHex(f)
				}
			}
		case tagSignature:
			s, ok := parseRawSig(p.Body)
			if !ok || primaryFpr == nil || s.Issuer != keyIDOf(primaryFpr) {
				continue
			}
			selfSig := (s.Type >= 0x10 && s.Type <= 0x13) || s.Type == 0x18 || s.Type == 0x1f
			if selfSig && (s.Hash == 1 || s.Hash == 3) {
				out = append(out, rawWeakSig{Fingerprint: fingerprintHex(primaryFpr), Component: component, Hash: s.Hash, Line: line})
			}
		}
	}
	return out
}

func fingerprintHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// uidLabel shortens a user ID for a message: its e-mail when it has one.
func uidLabel(uid string) string {
	if e := uidEmail(uid); e != "" {
		return e
	}
	return truncate(oneLine(uid), 80)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// distinctCerts is Certs with each certificate once, every copy of it
// merged (mergeCerts): a file holding a key's public and private blocks, or
// one block twice, holds one certificate.
func (kf *keyFile) distinctCerts() []*cert { return mergeCerts(kf.Certs) }

// fingerprints lists the distinct certificates' fingerprints, sorted.
func (kf *keyFile) fingerprints() []string {
	var out []string
	for _, c := range kf.distinctCerts() {
		out = append(out, fingerprintHex(c.Entity.PrimaryKey.Fingerprint))
	}
	slices.Sort(out)
	return out
}

// publicLines gives the lines of the public blocks of the certificates
// with these fingerprints (0 for binary data).
func (kf *keyFile) publicLines(fprs []string) []int {
	var out []int
	for _, c := range kf.Certs {
		if c.Entity.PrivateKey == nil && c.Line > 0 && slices.Contains(fprs, fingerprintHex(c.Entity.PrimaryKey.Fingerprint)) && !slices.Contains(out, c.Line) {
			out = append(out, c.Line)
		}
	}
	return out
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
