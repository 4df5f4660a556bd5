package securitykey

import (
	"bytes"
	"slices"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// mergeCerts is certs with each certificate once, in order of first
// appearance, every copy merged into one as gpg --import and keyservers
// merge them: a revocation, a newer self-signature, a user ID or a subkey
// (with its bindings and revocations) found in any copy counts. Judging
// the first copy alone made a key whose appended copy revokes it look
// sound, and one renewed in an appended copy look expired.
//
// The merged certificate's base is a public copy where there is one (a
// file may hold a key's public and private blocks); its Line is the first
// copy's. The entities read from the file are not modified.
func mergeCerts(certs []*cert) []*cert {
	var order []string
	copies := map[string][]*cert{}
	for _, c := range certs {
		f := fingerprintHex(c.Entity.PrimaryKey.Fingerprint)
		if _, seen := copies[f]; !seen {
			order = append(order, f)
		}
		copies[f] = append(copies[f], c)
	}
	out := make([]*cert, 0, len(order))
	for _, f := range order {
		cs := copies[f]
		base := cs[0]
		for _, c := range cs {
			if c.Entity.PrivateKey == nil {
				base = c
				break
			}
		}
		if len(cs) == 1 {
			out = append(out, base)
			continue
		}
		m := cloneEntity(base.Entity)
		for _, c := range cs {
			if c != base {
				mergeEntity(m, c.Entity)
			}
		}
		out = append(out, &cert{Entity: m, Line: cs[0].Line})
	}
	return out
}

// cloneEntity copies e deep enough that merging into the copy leaves e as
// it was: new slices, identities and subkeys; the packets are shared.
func cloneEntity(e *openpgp.Entity) *openpgp.Entity {
	m := &openpgp.Entity{
		PrimaryKey:       e.PrimaryKey,
		PrivateKey:       e.PrivateKey,
		Identities:       make(map[string]*openpgp.Identity, len(e.Identities)),
		Revocations:      slices.Clone(e.Revocations),
		DirectSignatures: slices.Clone(e.DirectSignatures),
	}
	for name, id := range e.Identities {
		m.Identities[name] = &openpgp.Identity{
			Primary: m, Name: id.Name, UserId: id.UserId,
			SelfCertifications:  slices.Clone(id.SelfCertifications),
			OtherCertifications: slices.Clone(id.OtherCertifications),
			Revocations:         slices.Clone(id.Revocations),
		}
	}
	for _, sk := range e.Subkeys {
		m.Subkeys = append(m.Subkeys, openpgp.Subkey{
			Primary: m, PublicKey: sk.PublicKey, PrivateKey: sk.PrivateKey,
			Bindings: slices.Clone(sk.Bindings), Revocations: slices.Clone(sk.Revocations),
		})
	}
	return m
}

// mergeEntity adds to m what another copy of the same certificate holds.
func mergeEntity(m, o *openpgp.Entity) {
	m.Revocations = mergeSigs(m.Revocations, o.Revocations)
	m.DirectSignatures = mergeSigs(m.DirectSignatures, o.DirectSignatures)
	for name, oid := range o.Identities {
		id, ok := m.Identities[name]
		if !ok {
			m.Identities[name] = &openpgp.Identity{
				Primary: m, Name: oid.Name, UserId: oid.UserId,
				SelfCertifications:  slices.Clone(oid.SelfCertifications),
				OtherCertifications: slices.Clone(oid.OtherCertifications),
				Revocations:         slices.Clone(oid.Revocations),
			}
			continue
		}
		id.SelfCertifications = mergeSigs(id.SelfCertifications, oid.SelfCertifications)
		id.OtherCertifications = mergeSigs(id.OtherCertifications, oid.OtherCertifications)
		id.Revocations = mergeSigs(id.Revocations, oid.Revocations)
	}
	for _, osk := range o.Subkeys {
		i := slices.IndexFunc(m.Subkeys, func(sk openpgp.Subkey) bool {
			return bytes.Equal(sk.PublicKey.Fingerprint, osk.PublicKey.Fingerprint)
		})
		if i < 0 {
			m.Subkeys = append(m.Subkeys, openpgp.Subkey{
				Primary: m, PublicKey: osk.PublicKey, PrivateKey: osk.PrivateKey,
				Bindings: slices.Clone(osk.Bindings), Revocations: slices.Clone(osk.Revocations),
			})
			continue
		}
		m.Subkeys[i].Bindings = mergeSigs(m.Subkeys[i].Bindings, osk.Bindings)
		m.Subkeys[i].Revocations = mergeSigs(m.Subkeys[i].Revocations, osk.Revocations)
	}
}

// mergeSigs appends the signatures of add that have is not already.
func mergeSigs(have, add []*packet.VerifiableSignature) []*packet.VerifiableSignature {
	for _, s := range add {
		if !slices.ContainsFunc(have, func(h *packet.VerifiableSignature) bool { return sameSig(h.Packet, s.Packet) }) {
			have = append(have, s)
		}
	}
	return have
}

// sameSig reports whether two signatures are byte-for-byte the same
// packet. Anything less (the same type, issuer, time and hash tag) would
// let a forged look-alike in one copy displace a genuine revocation in
// another; a signature that cannot be serialized is never called a copy.
func sameSig(a, b *packet.Signature) bool {
	if a == nil || b == nil {
		return a == b
	}
	var x, y bytes.Buffer
	if a.Serialize(&x) != nil || b.Serialize(&y) != nil {
		return false
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
}
