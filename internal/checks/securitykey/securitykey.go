// Package securitykey implements the security-key gate: the OpenPGP key a
// project publishes for encrypted vulnerability reports exists, is a sound
// public certificate, can receive encrypted mail as of the check's clock,
// and is the key SECURITY.md (and security.txt) name, under the address
// they name.
//
// The gate gathers and reports; it never decides the verdict, and it never
// prints or records key material, not even of a private key published by
// mistake: findings and facts carry fingerprints only.
package securitykey

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/disclosure"
	repository "github.com/readiness-dev/readiness/internal/repo"
)

// Type is the gate's type in readiness.yaml.
const Type = "security-key"

//go:embed rules.yaml
var rulesYAML []byte

// book is the gate's rules table, immutable once parsed: every finding's
// severity and remediation come from it.
var book = checks.NewRuleBook(rulesYAML)

// Gate describes the security-key gate for the catalog.
func Gate() checks.Gate {
	return checks.Gate{
		Type:    Type,
		Summary: "the published OpenPGP security contact key exists, is sound, can receive encrypted reports, and matches SECURITY.md",
		Rules:   book,
		New:     fromSpec,
		Command: command(),
	}
}

// Defaults.
const (
	DefaultKey        = "docs/keys/security.asc"
	DefaultExpiryFail = 30 * 24 * time.Hour
	DefaultExpiryWarn = 90 * 24 * time.Hour
	DefaultMinRSABits = 3072
	maxInputBytes     = 4 << 20 // a key file or SECURITY.md larger than this is not read
)

// securityMDCandidates are where GitHub looks for a security policy, in its order.
var securityMDCandidates = []string{"SECURITY.md", ".github/SECURITY.md", "docs/SECURITY.md"}

// securityTxtCandidates are RFC 9116's locations, relative to the repository.
var securityTxtCandidates = []string{".well-known/security.txt", "security.txt"}

// Options is the gate's `with:` block. Paths written in readiness.yaml are
// relative to its directory (OptionsFromSpec makes them absolute); the
// defaults, and relative paths given to New directly, are relative to the
// repository root.
type Options struct {
	// Key is the published key file (default docs/keys/security.asc). When
	// it is the default and does not exist, an armored public key block
	// pasted into SECURITY.md is judged as the key.
	Key string `yaml:"key"`
	// SecurityMD is the disclosure policy; when empty, the first of
	// SECURITY.md, .github/SECURITY.md and docs/SECURITY.md that exists.
	SecurityMD string `yaml:"security_md"`
	// SecurityTxt is an RFC 9116 security.txt; when empty,
	// .well-known/security.txt or security.txt if present; "none" skips it.
	SecurityTxt string `yaml:"security_txt"`
	// Contacts replace the e-mail addresses found in SECURITY.md and
	// security.txt as the addresses the key's user IDs must carry.
	Contacts []string `yaml:"contacts"`
	// Fingerprint is a fingerprint the key must have, in addition to any
	// SECURITY.md states.
	Fingerprint string `yaml:"fingerprint"`
	// ExpiryFail: a key expiring sooner than this is a high finding (30d).
	ExpiryFail config.Duration `yaml:"expiry_fail"`
	// ExpiryWarn: a key expiring sooner than this is a medium finding (90d).
	ExpiryWarn config.Duration `yaml:"expiry_warn"`
	// MinRSABits is the smallest acceptable RSA key (3072; under 2048 is
	// always critical).
	MinRSABits int `yaml:"min_rsa_bits"`
	// SingleCertificate: the file must hold exactly one certificate (true).
	SingleCertificate *bool `yaml:"single_certificate"`
}

// WithDefaults fills unset options with the defaults.
func (o Options) WithDefaults() Options {
	if o.Key == "" {
		o.Key = DefaultKey
	}
	if o.ExpiryFail == 0 {
		o.ExpiryFail = config.Duration(DefaultExpiryFail)
	}
	if o.ExpiryWarn == 0 {
		o.ExpiryWarn = config.Duration(DefaultExpiryWarn)
	}
	if o.MinRSABits == 0 {
		o.MinRSABits = DefaultMinRSABits
	}
	if o.SingleCertificate == nil {
		t := true
		o.SingleCertificate = &t
	}
	return o
}

// Validate rejects inconsistent options with one sentence.
func (o Options) Validate() error {
	if o.ExpiryWarn.D() < o.ExpiryFail.D() {
		return fmt.Errorf("expiry_warn (%s) must not be shorter than expiry_fail (%s)", humanDays(o.ExpiryWarn.D()), humanDays(o.ExpiryFail.D()))
	}
	if o.MinRSABits < criticalRSABits || o.MinRSABits > 16384 {
		return fmt.Errorf("min_rsa_bits must be between %d and 16384 (got %d)", criticalRSABits, o.MinRSABits)
	}
	if o.Fingerprint != "" {
		if n := normalizeHex(o.Fingerprint); len(n) != 40 && len(n) != 64 {
			return fmt.Errorf("fingerprint %q is not a full 40- or 64-hex-digit OpenPGP fingerprint", o.Fingerprint)
		}
	}
	for _, c := range o.Contacts {
		if uidEmail(c) == "" || strings.ContainsAny(c, "<>") {
			return fmt.Errorf("contacts: %q is not an e-mail address", c)
		}
	}
	return nil
}

// OptionsFromSpec decodes and validates a check's `with:` block, with
// defaults applied. The paths it sets are made absolute against the
// config's directory, and refused when they leave the repository.
func OptionsFromSpec(env checks.Env, spec config.CheckSpec) (Options, error) {
	var o Options
	if err := config.DecodeStrict(env.ConfigFile, &spec.With, &o); err != nil {
		return Options{}, err
	}
	root, dir := env.RepoRoot(), env.ConfigDir()
	for _, p := range []*string{&o.Key, &o.SecurityMD, &o.SecurityTxt} {
		if *p == "" || (p == &o.SecurityTxt && *p == "none") {
			continue
		}
		abs, err := repository.Resolve(root, dir, *p)
		if err != nil {
			return Options{}, &config.Error{File: env.ConfigFile, Line: withLine(spec), Msg: fmt.Sprintf("check %q: %v", spec.Name, err)}
		}
		*p = abs
	}
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return Options{}, &config.Error{File: env.ConfigFile, Line: withLine(spec), Msg: fmt.Sprintf("check %q: %v", spec.Name, err)}
	}
	return o, nil
}

func withLine(spec config.CheckSpec) int {
	if spec.With.Line > 0 {
		return spec.With.Line
	}
	return spec.Line
}

func fromSpec(env checks.Env, spec config.CheckSpec) (checks.Check, error) {
	o, err := OptionsFromSpec(env, spec)
	if err != nil {
		return nil, err
	}
	return New(o, env), nil
}

// Check is the security-key check.
type Check struct {
	opts Options
	// root is the repository root (absolute): relative paths in opts
	// resolve against it, and every path reported is relative to it.
	root string
	// defaultKey is true when opts.Key was not set: a SECURITY.md with the
	// key pasted in then stands in for a missing key file.
	defaultKey bool
	now        func() time.Time
}

// New builds the check. Relative paths in o resolve against the repository
// root (env.RepoRoot); the clock is env.Now (time.Now when nil).
func New(o Options, env checks.Env) *Check {
	defaultKey := o.Key == "" || o.Key == DefaultKey
	o = o.WithDefaults()
	now := env.Now
	if now == nil {
		now = time.Now
	}
	return &Check{opts: o, root: env.RepoRoot(), defaultKey: defaultKey, now: now}
}

// Facts is what the check records in Result.Facts.
type Facts struct {
	EvaluatedAt  string      `json:"evaluated_at"`
	KeyFile      string      `json:"key_file"`
	KeyFileFound bool        `json:"key_file_found"`
	KeyDigest    string      `json:"key_file_digest,omitempty"`
	Armored      bool        `json:"armored"`
	Blocks       []blockInfo `json:"armor_blocks"`
	// PrivateKeyPublished is true when the file holds secret key material.
	PrivateKeyPublished bool `json:"private_key_published"`
	// KeyInSecurityMD is true when the key judged is the armored block
	// pasted into SECURITY.md (no separate key file exists).
	KeyInSecurityMD bool        `json:"key_in_security_md,omitempty"`
	Certificates    []CertFacts `json:"certificates"`
	SecurityMD      string      `json:"security_md,omitempty"`
	SecurityTxt     string      `json:"security_txt,omitempty"`
	// Contacts are the addresses the key was matched against.
	Contacts []string          `json:"contacts"`
	Claims   disclosure.Claims `json:"claims"`
	Options  struct {
		ExpiryFail        string `json:"expiry_fail"`
		ExpiryWarn        string `json:"expiry_warn"`
		MinRSABits        int    `json:"min_rsa_bits"`
		SingleCertificate bool   `json:"single_certificate"`
	} `json:"options"`
}

// Run gathers the evidence.
func (c *Check) Run(ctx context.Context) (checks.Result, error) {
	if err := ctx.Err(); err != nil {
		return checks.Result{}, err
	}
	now := c.now().UTC()
	res := checks.Result{Type: Type}
	r := &run{c: c, now: now, findings: []checks.Finding{}}
	r.gather()
	res.Findings = r.findings
	res.Facts = r.factsMap()
	if r.keyDigest != "" {
		res.Subjects = []checks.Subject{{Name: r.keyRel, Digest: r.keyDigest}}
	}
	res.Status = checks.StatusPass
	if len(res.Findings) > 0 {
		res.Status = checks.StatusFail
	}
	res.Summary = r.summary()
	return res, nil
}

// run is one execution of the check.
type run struct {
	c   *Check
	now time.Time

	keyAbs, keyRel string
	keyDigest      string
	kf             *keyFile
	ikf            *keyFile // the key block pasted into SECURITY.md (inlineKeyFile)
	notPromised    bool     // no key file, and the documents promise none
	reports        []certReport
	claims         disclosure.Claims
	mdRel, txtRel  string
	mdAbs          string
	mdFound        bool
	// mdData is SECURITY.md when it holds an armored key block.
	mdData []byte
	// keyInMD: the key judged is the block in SECURITY.md.
	keyInMD  bool
	contacts []disclosure.Claim
	findings []checks.Finding
	facts    Facts
}

func (r *run) resolve(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(r.c.root, filepath.FromSlash(p))
}

// rel shows a path relative to the repository root when it lies inside it
// (a key given on the command line may lie elsewhere: shown absolute).
func (r *run) rel(abs string) string {
	rel, _ := repository.Rel(r.c.root, abs)
	return rel
}

func (r *run) add(f checks.Finding) {
	// The rules' commands are written for security@example.org: a remedy
	// names this repository's own address (the finding's, else the first
	// SECURITY.md or security.txt gives), never the placeholder.
	addr, _ := f.Properties["email"].(string)
	if addr == "" {
		addr = r.contactAddress()
	}
	f.Remediation = strings.ReplaceAll(f.Remediation, "security@example.org", addr)
	// Finding IDs are unique within the check.
	base, id := f.ID, f.ID
	for n := 2; slices.ContainsFunc(r.findings, func(x checks.Finding) bool { return x.ID == id }); n++ {
		id = fmt.Sprintf("%s/%d", base, n)
	}
	f.ID = id
	r.findings = append(r.findings, f)
}

// contactAddress is the first contact address the documents give, or a
// slot that says what belongs there.
func (r *run) contactAddress() string {
	if len(r.claims.Emails) > 0 {
		return r.claims.Emails[0].Value
	}
	return "<the security contact address>"
}

func (r *run) gather() {
	o := r.c.opts
	r.keyAbs = r.resolve(o.Key)
	r.keyRel = r.rel(r.keyAbs)
	r.readDocs()
	r.readKey()
	r.inlineKey()
	r.crossCheck()
}

// readDocs reads SECURITY.md and security.txt.
func (r *run) readDocs() {
	o := r.c.opts
	r.claims = disclosure.Claims{Emails: []disclosure.Claim{}, KeyRefs: []disclosure.Claim{}, Fingerprints: []disclosure.Claim{}, KeyIDs: []disclosure.Claim{}, ShortKeyIDs: []disclosure.Claim{}}
	mdCandidates := []string{o.SecurityMD}
	if o.SecurityMD == "" {
		mdCandidates = securityMDCandidates
	}
	for _, cand := range mdCandidates {
		abs := r.resolve(cand)
		data, err := readLimited(abs)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		r.mdRel = r.rel(abs)
		if err != nil {
			r.add(book.Finding("KEY-SECURITY-MD-MISSING", r.mdRel,
				fmt.Sprintf("%s cannot be read (%s), so nothing can be checked against what it promises", r.mdRel, ioReason(err)), &checks.Location{Path: r.mdRel}))
			break
		}
		r.mdFound = true
		r.mdAbs = abs
		r.claims.Merge(disclosure.ParseSecurityMD(r.mdRel, data))
		if r.claims.InlineKey != nil {
			r.mdData = data
		}
		break
	}
	mdMissing := r.mdRel == ""
	if mdMissing {
		r.mdRel = r.rel(r.resolve(mdCandidates[0]))
	}
	txtContact := r.readSecurityTxt()
	if mdMissing {
		// A security.txt that names the contact address tells reporters
		// where to write (and its Encryption: which key): RFC 9116 is a
		// disclosure policy of its own, so the missing SECURITY.md is a
		// note, not a blocker. Without that contact nothing does.
		cas, msg := "", "the project publishes no disclosure policy that names the key and the address to send reports to"
		if txtContact {
			cas, msg = "security-txt-contact", "only "+r.txtRel+" names the contact address and key; GitHub and most reporters look for SECURITY.md first"
		}
		r.add(book.Case("KEY-SECURITY-MD-MISSING", cas, r.mdRel,
			fmt.Sprintf("%s does not exist: %s", strings.Join(mdCandidates, ", "), msg),
			&checks.Location{Path: r.mdRel}))
	}
}

// readSecurityTxt reads security.txt into the claims and reports whether
// it names a contact address.
func (r *run) readSecurityTxt() bool {
	o := r.c.opts
	if o.SecurityTxt == "none" {
		return false
	}
	txtCandidates := []string{o.SecurityTxt}
	if o.SecurityTxt == "" {
		txtCandidates = securityTxtCandidates
		// A site's web root in the repository (docs/.well-known/ …).
		if f := disclosure.FindWebrootFile(os.DirFS(r.c.root), ".well-known/security.txt"); f != "" && !slices.Contains(txtCandidates, f) {
			txtCandidates = append(slices.Clone(txtCandidates), f)
		}
	}
	for _, cand := range txtCandidates {
		abs := r.resolve(cand)
		data, err := readLimited(abs)
		if errors.Is(err, fs.ErrNotExist) {
			if o.SecurityTxt != "" {
				rel := r.rel(abs)
				r.add(book.Finding("KEY-SECURITY-TXT-MISSING", rel,
					fmt.Sprintf("%s, configured as the security.txt to check, does not exist", rel), &checks.Location{Path: rel}))
			}
			continue
		}
		r.txtRel = r.rel(abs)
		if err != nil {
			r.add(book.Finding("KEY-SECURITY-TXT-MISSING", r.txtRel,
				fmt.Sprintf("%s cannot be read (%s)", r.txtRel, ioReason(err)), &checks.Location{Path: r.txtRel}))
			break
		}
		st := disclosure.ParseSecurityTxt(r.txtRel, data)
		r.claims.Merge(st)
		r.claims.Expires = st.Expires
		r.checkTxtExpiry(st.Expires)
		return len(st.Emails) > 0
	}
	return false
}

// readKey reads and evaluates the key file, or the key pasted into
// SECURITY.md when the default key file does not exist.
func (r *run) readKey() {
	data, err := readLimited(r.keyAbs)
	if errors.Is(err, fs.ErrNotExist) && r.c.defaultKey && r.mdData != nil {
		r.keyAbs, r.keyRel, r.keyInMD = r.mdAbs, r.mdRel, true
		data, err = r.mdData, nil
	}
	var unmapped []disclosure.Claim // security.txt Encryption: URLs that are no file here
	if errors.Is(err, fs.ErrNotExist) && r.c.defaultKey {
		// security.txt names the key by its URL on the project's site:
		// follow it to the file in the repository's web root.
		for _, ref := range r.claims.KeyRefs {
			if ref.Path != r.txtRel {
				continue
			}
			if f := disclosure.FileForURL(os.DirFS(r.c.root), ref.Value); f != "" {
				r.keyAbs = r.resolve(f)
				r.keyRel = r.rel(r.keyAbs)
				data, err = readLimited(r.keyAbs)
				unmapped = nil
				break
			}
			unmapped = append(unmapped, ref)
		}
	}
	loc := &checks.Location{Path: r.keyRel}
	switch {
	case errors.Is(err, fs.ErrNotExist) && r.mdFound && !r.claims.PromisesKey() && r.c.defaultKey:
		// Nothing promised, nothing to keep: a project whose disclosure
		// policy offers no encrypted channel is not missing a key. A key
		// path the team configured is a promise of its own: missing, it
		// is KEY-MISSING.
		r.add(book.Finding("KEY-NOT-PROMISED", r.keyRel,
			fmt.Sprintf("no key promised: %s names no OpenPGP key, fingerprint or encrypted channel, and %s does not exist; nothing to verify", r.mdRel, r.keyRel),
			&checks.Location{Path: r.mdRel}))
		r.notPromised = true
		return
	case errors.Is(err, fs.ErrNotExist):
		msg := fmt.Sprintf("the security contact key %s does not exist", r.keyRel)
		if p := r.claims.PromisesEncryption; p != nil {
			msg += fmt.Sprintf(", yet %s:%d promises encrypted reports", p.Path, p.Line)
		}
		for _, u := range unmapped {
			msg += fmt.Sprintf("; %s names the key at %s, which is no file in this repository: verify that URL's key by hand, or commit a copy and set the check's key:", claimWhere(u), u.Value)
		}
		r.add(book.Finding("KEY-MISSING", r.keyRel, msg, loc))
		return
	case err != nil:
		r.add(book.Finding("KEY-UNREADABLE", r.keyRel,
			fmt.Sprintf("the security contact key %s cannot be read: %s", r.keyRel, ioReason(err)), loc))
		return
	}
	sum := sha256.Sum256(data)
	r.keyDigest = "sha256:" + hex.EncodeToString(sum[:])
	r.kf = parseKeyFile(data)
	kf := r.kf

	r.fileFaults(kf, r.keyRel)
	// Self-signatures go-crypto cannot parse, one finding per certificate.
	var weakOrder []string
	weak := map[string][]rawWeakSig{}
	for _, w := range kf.WeakSigs {
		if _, ok := weak[w.Fingerprint]; !ok {
			weakOrder = append(weakOrder, w.Fingerprint)
		}
		weak[w.Fingerprint] = append(weak[w.Fingerprint], w)
	}
	for _, fpr := range weakOrder {
		var parts []string
		for _, w := range weak[fpr] {
			parts = append(parts, fmt.Sprintf("%s (%s)", w.Component, hashName(w.Hash)))
		}
		r.add(book.Finding("KEY-WEAK-HASH", fpr+"/unparseable",
			fmt.Sprintf("certificate %s is bound by self-signatures over hashes that OpenPGP implementations no longer accept, and go-crypto cannot even parse: %s",
				fpr, strings.Join(parts, ", ")),
			&checks.Location{Path: r.keyRel, Line: weak[fpr][0].Line}).With(map[string]any{"fingerprint": fpr, "signatures": parts}))
	}
	// The same key twice (a public and a private block of it, one pasted
	// twice, or pasted into SECURITY.md beside the file) is one
	// certificate: every copy merged, judged once, counted once.
	certs := mergeCerts(append(slices.Clone(kf.Certs), r.inlineCopies()...))
	if len(certs) > 1 && *r.c.opts.SingleCertificate {
		var fprs []string
		for _, c := range certs {
			fprs = append(fprs, fingerprintHex(c.Entity.PrimaryKey.Fingerprint))
		}
		r.add(book.Finding("KEY-MULTIPLE-CERTS", r.keyRel,
			fmt.Sprintf("%s holds %d certificates (%s) where one is expected: a reporter cannot tell which key to encrypt to", r.keyRel, len(certs), strings.Join(fprs, ", ")),
			loc).With(map[string]any{"fingerprints": fprs}))
	}
	ev := newEvaluator(r.now, r.c.opts, r.keyRel)
	for _, c := range certs {
		rep := ev.evaluate(c)
		r.reports = append(r.reports, rep)
		for _, f := range rep.Findings {
			r.add(f)
		}
	}
}

// fileFaults reports what is wrong with a key file (or with the key block
// pasted into SECURITY.md) as a file: secret key material, structural faults.
func (r *run) fileFaults(kf *keyFile, rel string) {
	for _, s := range kf.Secrets {
		what := "secret key material"
		if s.Labelled {
			what = "a PGP PRIVATE KEY BLOCK"
		}
		l := &checks.Location{Path: rel, Line: s.Line}
		msg := fmt.Sprintf("%s publishes %s", rel, what)
		if len(s.Fingerprints) > 0 {
			msg += " for " + strings.Join(s.Fingerprints, ", ")
		}
		if pub := kf.publicLines(s.Fingerprints); len(pub) > 0 {
			msg += fmt.Sprintf(" (the same key as the public block on line %s)", joinInts(pub))
		}
		switch {
		case !s.Parsed:
			msg += ": treat the key as compromised"
		case s.Protected:
			msg += " (passphrase-protected, which only slows an attacker): the key is compromised"
		default:
			msg += " UNPROTECTED: anyone who can read the repository can decrypt every report sent to this key and sign as the project; the key is compromised"
		}
		r.add(book.Finding("KEY-PRIVATE-PUBLISHED", rel, msg, l).
			With(map[string]any{"fingerprints": s.Fingerprints, "passphrase_protected": s.Protected}))
	}
	for _, p := range kf.Problems {
		// KEY-MALFORMED's ID also names the kind of damage.
		subject := rel
		if p.Rule == "KEY-MALFORMED" {
			subject += "/" + p.Kind
		}
		r.add(book.Finding(p.Rule, subject, fmt.Sprintf("%s: %s", rel, p.Msg), &checks.Location{Path: rel, Line: p.Line}))
	}
}

// inlineKeyFile is the key block pasted into SECURITY.md, read once, when
// the key is also published as a separate file; nil otherwise.
func (r *run) inlineKeyFile() *keyFile {
	if r.mdData == nil || r.keyInMD || r.kf == nil || r.keyAbs == r.mdAbs {
		return nil
	}
	if r.ikf == nil {
		r.ikf = parseKeyFile(r.mdData)
	}
	return r.ikf
}

// inlineCopies are the certificates pasted into SECURITY.md that are
// copies of one in the key file: gpg merges what a reporter imports from
// either, so a revocation pasted there counts against the file's key.
func (r *run) inlineCopies() []*cert {
	ikf := r.inlineKeyFile()
	if ikf == nil {
		return nil
	}
	inFile := r.kf.fingerprints()
	var out []*cert
	for _, c := range ikf.Certs {
		if slices.Contains(inFile, fingerprintHex(c.Entity.PrimaryKey.Fingerprint)) {
			out = append(out, c)
		}
	}
	return out
}

// inlineKey compares the key pasted into SECURITY.md with the separate key
// file: reporters copy one or the other, so both must be the same
// certificate. A fault in the pasted block is reported like one in a file.
func (r *run) inlineKey() {
	ikf := r.inlineKeyFile()
	if ikf == nil {
		return
	}
	r.fileFaults(ikf, r.mdRel)
	inline, file := ikf.fingerprints(), r.kf.fingerprints()
	if len(inline) == 0 || len(file) == 0 || slices.Equal(inline, file) {
		return
	}
	at := r.claims.InlineKey
	r.add(book.Finding("KEY-INLINE-MISMATCH", r.mdRel,
		fmt.Sprintf("%s shows the key %s, but %s is %s: reporters who copy one encrypt to a key the project may not hold; publish one certificate in both places",
			claimWhere(*at), strings.Join(inline, ", "), r.keyRel, strings.Join(file, ", ")),
		claimLoc(*at)).With(map[string]any{"inline": inline, "key_file": file}))
}

// crossCheck compares what the documents claim with the key.
func (r *run) crossCheck() {
	if r.notPromised {
		return // no key, none promised: nothing to compare
	}
	o := r.c.opts
	mdLoc := &checks.Location{Path: r.mdRel}
	docsRead := r.mdFound || r.txtRel != ""

	// Contacts.
	if len(o.Contacts) > 0 {
		for _, e := range o.Contacts {
			r.contacts = append(r.contacts, disclosure.Claim{Value: strings.ToLower(strings.TrimSpace(e)), Path: "with.contacts"})
		}
	} else {
		seen := map[string]bool{}
		for _, e := range r.claims.Emails {
			if !seen[e.Value] {
				seen[e.Value] = true
				r.contacts = append(r.contacts, e)
			}
		}
	}
	if len(r.contacts) == 0 && docsRead {
		where := r.mdRel
		if !r.mdFound {
			where = r.txtRel
		}
		r.add(book.Finding("KEY-NO-CONTACT", where,
			fmt.Sprintf("%s names no e-mail address to send encrypted reports to", where), &checks.Location{Path: where}))
	}
	if len(r.reports) > 0 {
		for _, ct := range r.contacts {
			valid, present := false, false
			for _, rep := range r.reports {
				v, ok := rep.Emails[ct.Value]
				present = present || ok
				valid = valid || v
			}
			if valid {
				continue
			}
			msg := fmt.Sprintf("%s names %s as the contact, but no valid user ID of the key carries that address", claimWhere(ct), ct.Value)
			if present {
				msg = fmt.Sprintf("%s names %s as the contact; the key has a user ID with that address but it is revoked or its self-signature is not valid", claimWhere(ct), ct.Value)
			}
			if ids := r.validEmails(); len(ids) > 0 {
				msg += " (the key's addresses: " + strings.Join(ids, ", ") + ")"
			}
			r.add(book.Finding("KEY-UID-MISMATCH", ct.Value, msg, claimLoc(ct)).With(map[string]any{"email": ct.Value}))
		}
	}

	// Fingerprints and key IDs.
	stated := slices.Clone(r.claims.Fingerprints)
	if o.Fingerprint != "" {
		stated = append(stated, disclosure.Claim{Value: normalizeHex(o.Fingerprint), Path: "with.fingerprint"})
	}
	if len(r.reports) > 0 {
		var all []string
		for _, rep := range r.reports {
			all = append(all, rep.Fingerprints...)
		}
		check := func(list []disclosure.Claim, match func(fpr, v string) bool, kind string) {
			for _, cl := range list {
				if slices.ContainsFunc(all, func(f string) bool { return match(f, cl.Value) }) {
					continue
				}
				r.add(book.Finding("KEY-FINGERPRINT-MISMATCH", cl.Value,
					fmt.Sprintf("%s states the %s %s, but %s is %s: reporters who check the %s will refuse the published key, or trust the wrong one",
						claimWhere(cl), kind, cl.Value, r.keyRel, r.certList(), kind),
					claimLoc(cl)).With(map[string]any{"stated": cl.Value, "actual": r.primaryFprs()}))
			}
		}
		check(stated, func(f, v string) bool { return f == v }, "fingerprint")
		check(r.claims.KeyIDs, func(f, v string) bool { return keyIDOfHex(f) == v }, "key ID")
		check(r.claims.ShortKeyIDs, func(f, v string) bool { k := keyIDOfHex(f); return len(k) == 16 && k[8:] == v }, "short key ID")
	}
	if len(r.claims.Fingerprints) == 0 {
		if len(r.claims.KeyIDs) == 0 {
			for _, cl := range r.claims.ShortKeyIDs {
				r.add(book.Finding("KEY-SHORT-ID", cl.Value,
					fmt.Sprintf("%s identifies the key only by the 32-bit short key ID %s: short IDs collide and can be forged in seconds", claimWhere(cl), cl.Value),
					claimLoc(cl)).With(map[string]any{"key_id": cl.Value}))
			}
		}
		for _, cl := range r.claims.KeyIDs {
			r.add(book.Finding("KEY-LONG-ID", cl.Value,
				fmt.Sprintf("%s identifies the key only by the 64-bit key ID %s, not by its full fingerprint", claimWhere(cl), cl.Value),
				claimLoc(cl)).With(map[string]any{"key_id": cl.Value}))
		}
	}

	// Does SECURITY.md point at the key at all, and at this one?
	if r.mdFound || r.txtRel != "" {
		// A key pasted into SECURITY.md is the strongest way to name it.
		named := len(r.claims.KeyRefs)+len(r.claims.Fingerprints)+len(r.claims.KeyIDs)+len(r.claims.ShortKeyIDs) > 0 || r.claims.InlineKey != nil
		if !named {
			if p := r.claims.PromisesEncryption; p != nil {
				r.add(book.Finding("KEY-NOT-NAMED", r.mdRel,
					fmt.Sprintf("%s:%d promises encrypted reports but names no key file, key URL or fingerprint, so reporters cannot find or verify the key", p.Path, p.Line), mdLoc))
			} else {
				r.add(book.Case("KEY-NOT-NAMED", "no-promise", r.mdRel,
					fmt.Sprintf("%s names no key file, key URL or fingerprint, so reporters cannot find or verify the key", r.mdRel), mdLoc))
			}
		}
		var local []disclosure.Claim
		matched := false
		for _, ref := range r.claims.KeyRefs {
			p, ok := r.localRef(ref)
			if !ok {
				continue
			}
			local = append(local, ref)
			if p {
				matched = true
			}
		}
		if len(local) > 0 && !matched {
			for _, ref := range local {
				r.add(book.Finding("KEY-PATH-MISMATCH", ref.Value,
					fmt.Sprintf("%s points reporters to %s, but the key this check verifies is %s: one of them is wrong", claimWhere(ref), ref.Value, r.keyRel),
					claimLoc(ref)).With(map[string]any{"named": ref.Value, "checked": r.keyRel}))
			}
		}
	}
}

// localRef reports whether ref names a file in this repository (a relative
// path or a GitHub/GitLab/Codeberg file URL) and, if so, whether it is the
// checked key file.
func (r *run) localRef(ref disclosure.Claim) (matches, local bool) {
	v := ref.Value
	if strings.Contains(v, "://") {
		u := strings.ToLower(v)
		forge := false
		for _, h := range []string{"://github.com/", "://raw.githubusercontent.com/", "://gitlab.com/", "://codeberg.org/"} {
			if strings.Contains(u, h) {
				forge = true
			}
		}
		if !forge {
			return false, false
		}
		if i := strings.IndexAny(v, "?#"); i >= 0 {
			v = v[:i]
		}
		return strings.HasSuffix(v, "/"+r.keyRel), true
	}
	if strings.HasPrefix(v, "dns:") {
		return false, false
	}
	if i := strings.IndexAny(v, "?#"); i >= 0 {
		v = v[:i]
	}
	if strings.HasPrefix(v, "/") {
		// GitHub resolves a root-relative link in a Markdown file, wherever
		// the file is, at the repository root. /.well-known/ is a web path:
		// served from whichever directory of the repository holds it.
		if strings.HasPrefix(v, "/.well-known/") {
			return r.keyRel == v[1:] || strings.HasSuffix(r.keyRel, v), true
		}
		return r.resolve(strings.TrimLeft(v, "/")) == r.keyAbs, true
	}
	// Relative to the document (how Markdown links resolve) or to the
	// repository root (how people write paths in prose).
	docDir := filepath.Dir(r.resolve(ref.Path))
	if filepath.Join(docDir, filepath.FromSlash(v)) == r.keyAbs || r.resolve(v) == r.keyAbs {
		return true, true
	}
	return false, true
}

func (r *run) validEmails() []string {
	var out []string
	for _, rep := range r.reports {
		for e, ok := range rep.Emails {
			if ok && !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (r *run) primaryFprs() []string {
	var out []string
	for _, rep := range r.reports {
		out = append(out, rep.Facts.Fingerprint)
	}
	return out
}

func (r *run) certList() string {
	f := r.primaryFprs()
	if len(f) == 1 {
		return f[0]
	}
	return strings.Join(f, ", ")
}

func claimWhere(c disclosure.Claim) string {
	if c.Line > 0 {
		return fmt.Sprintf("%s:%d", c.Path, c.Line)
	}
	return c.Path
}

func claimLoc(c disclosure.Claim) *checks.Location {
	if strings.HasPrefix(c.Path, "with.") {
		return nil
	}
	return &checks.Location{Path: c.Path, Line: c.Line}
}

// keyIDOfHex is the key ID of a hex fingerprint: the last 16 digits of a v4
// fingerprint, the first 16 of a v6 one.
func keyIDOfHex(f string) string {
	switch len(f) {
	case 40:
		return f[24:]
	case 64:
		return f[:16]
	}
	return ""
}

func normalizeHex(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

func (r *run) factsMap() map[string]any {
	f := &r.facts
	o := r.c.opts
	f.EvaluatedAt = formatTime(r.now)
	f.KeyFile = r.keyRel
	f.KeyDigest = r.keyDigest
	f.KeyFileFound = r.keyDigest != ""
	f.Blocks = []blockInfo{}
	f.Certificates = []CertFacts{}
	if r.kf != nil {
		f.Armored = r.kf.Armored
		if r.kf.Blocks != nil {
			f.Blocks = r.kf.Blocks
		}
		f.PrivateKeyPublished = len(r.kf.Secrets) > 0
	}
	for _, rep := range r.reports {
		f.Certificates = append(f.Certificates, rep.Facts)
	}
	if r.mdFound {
		f.SecurityMD = r.mdRel
	}
	f.SecurityTxt = r.txtRel
	f.Contacts = []string{}
	for _, c := range r.contacts {
		f.Contacts = append(f.Contacts, c.Value)
	}
	f.Claims = r.claims
	f.KeyInSecurityMD = r.keyInMD
	f.Options.ExpiryFail = humanDays(o.ExpiryFail.D())
	f.Options.ExpiryWarn = humanDays(o.ExpiryWarn.D())
	f.Options.MinRSABits = o.MinRSABits
	f.Options.SingleCertificate = *o.SingleCertificate
	return map[string]any{
		"evaluated_at":          f.EvaluatedAt,
		"key_file":              f.KeyFile,
		"key_file_found":        f.KeyFileFound,
		"key_file_digest":       f.KeyDigest,
		"armored":               f.Armored,
		"armor_blocks":          f.Blocks,
		"private_key_published": f.PrivateKeyPublished,
		"key_in_security_md":    f.KeyInSecurityMD,
		"certificates":          f.Certificates,
		"security_md":           f.SecurityMD,
		"security_txt":          f.SecurityTxt,
		"contacts":              f.Contacts,
		"claims":                f.Claims,
		"options":               f.Options,
	}
}

func (r *run) summary() string {
	if len(r.reports) == 1 && len(r.findings) == 0 {
		cf := r.reports[0].Facts
		until := "no expiry"
		if !r.reports[0].PromiseEnd.IsZero() {
			until = "valid until " + day(r.reports[0].PromiseEnd)
		}
		return fmt.Sprintf("%s %s (%s), encrypts to %s, %s; matches %s", r.keyRel, cf.Fingerprint, algoSummary(cf), cf.EncryptionKey, until, r.docsNamed())
	}
	if len(r.findings) == 0 {
		return fmt.Sprintf("%s: %d certificates, no findings", r.keyRel, len(r.reports))
	}
	worst := r.findings[0]
	for _, f := range r.findings[1:] {
		if f.Severity.Rank() < worst.Severity.Rank() {
			worst = f
		}
	}
	if len(r.findings) == 1 {
		return worst.Message
	}
	return fmt.Sprintf("%d findings; worst: %s", len(r.findings), worst.Message)
}

func (r *run) docsNamed() string {
	var d []string
	if r.mdFound {
		d = append(d, r.mdRel)
	}
	if r.txtRel != "" {
		d = append(d, r.txtRel)
	}
	return strings.Join(d, " and ")
}

func algoSummary(cf CertFacts) string {
	parts := []string{algoShort(cf.KeyFacts)}
	for _, s := range cf.Subkeys {
		if s.Usable {
			parts = append(parts, algoShort(s.KeyFacts))
		}
	}
	return strings.Join(parts, " + ")
}

func algoShort(k KeyFacts) string {
	switch k.Algorithm {
	case "rsa", "rsa-sign-only", "rsa-encrypt-only":
		return fmt.Sprintf("rsa%d", k.Bits)
	case "dsa", "elgamal":
		return fmt.Sprintf("%s%d", k.Algorithm, k.Bits)
	case "eddsa", "ecdh", "ecdsa":
		return k.Curve
	}
	return k.Algorithm
}

// checkTxtExpiry judges security.txt's own Expires: field (RFC 9116
// §2.5.5: required; a file past it is stale). A missing or unreadable date
// is stale too: a reader cannot tell the file is current.
func (r *run) checkTxtExpiry(exp *disclosure.Claim) {
	loc := &checks.Location{Path: r.txtRel}
	if exp == nil {
		r.add(book.Finding("KEY-SECURITY-TXT-STALE", r.txtRel,
			fmt.Sprintf("%s has no Expires: field, which RFC 9116 requires: readers cannot tell whether its contact and key are current", r.txtRel), loc))
		return
	}
	loc.Line = exp.Line
	t, err := time.Parse(time.RFC3339, exp.Value)
	if err != nil {
		if d, derr := time.Parse(time.DateOnly, exp.Value); derr == nil {
			t, err = d.Add(24*time.Hour-time.Second), nil
		}
	}
	if err != nil {
		r.add(book.Finding("KEY-SECURITY-TXT-STALE", r.txtRel,
			fmt.Sprintf("%s:%d: Expires: %q is not an RFC 3339 date-time (e.g. 2027-01-31T23:00:00.000Z), so readers cannot tell whether the file is current", r.txtRel, exp.Line, exp.Value),
			loc).With(map[string]any{"expires": exp.Value}))
		return
	}
	left := t.Sub(r.now)
	switch {
	case left <= 0:
		r.add(book.Finding("KEY-SECURITY-TXT-STALE", r.txtRel,
			fmt.Sprintf("%s:%d expired on %s (%s ago): RFC 9116 readers treat it as stale and its contact and key as unreliable",
				r.txtRel, exp.Line, day(t), humanDays(-left.Truncate(24*time.Hour))),
			loc).With(map[string]any{"expires": formatTime(t)}))
	case left < r.c.opts.ExpiryWarn.D():
		r.add(book.Finding("KEY-SECURITY-TXT-EXPIRING", r.txtRel,
			fmt.Sprintf("%s:%d expires on %s, in %s (within the %s warning window): renew it before readers treat it as stale",
				r.txtRel, exp.Line, day(t), humanDays(left.Truncate(24*time.Hour)), humanDays(r.c.opts.ExpiryWarn.D())),
			loc).With(map[string]any{"expires": formatTime(t)}))
	}
}

// readLimited reads a file of at most maxInputBytes.
func readLimited(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errIsDir
	}
	if st.Size() > maxInputBytes {
		return nil, fmt.Errorf("it is %d bytes, larger than the %d a key or policy file can plausibly need", st.Size(), maxInputBytes)
	}
	return os.ReadFile(path)
}

var errIsDir = errors.New("it is a directory")

func ioReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return err.Error()
}
