package securitykey

import (
	"crypto/sha1" //nolint:gosec // OpenPGP v4 fingerprints are SHA-1 by definition (RFC 9580 §5.5.4.2).
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// OpenPGP packet tags this package cares about (RFC 9580 §5).
const (
	tagSignature    = 2
	tagSecretKey    = 5
	tagPublicKey    = 6
	tagSecretSubkey = 7
	tagUserID       = 13
	tagPublicSubkey = 14
)

// rawPacket is one packet as framed on the wire, before go-crypto parses it.
type rawPacket struct {
	Tag    int
	Offset int
	Body   []byte
}

// errPacketFraming says the data is not a well-framed packet sequence.
type errPacketFraming struct {
	Offset int
	Msg    string
}

func (e *errPacketFraming) Error() string { return fmt.Sprintf("byte %d: %s", e.Offset, e.Msg) }

// scanPackets splits data into packets by their headers alone (RFC 9580
// §4.2). It sees what go-crypto would silently skip: secret-key packets in
// a block labelled public, packets cut short, and signatures whose hash
// algorithm go-crypto cannot even parse (MD5, RIPEMD-160).
func scanPackets(data []byte) ([]rawPacket, error) {
	var out []rawPacket
	for off := 0; off < len(data); {
		start := off
		hdr := data[off]
		if hdr&0x80 == 0 {
			return out, &errPacketFraming{start, "not an OpenPGP packet header"}
		}
		off++
		var tag int
		var body []byte
		if hdr&0x40 != 0 { // new format
			tag = int(hdr & 0x3f)
			for {
				n, partial, used, err := newLength(data[off:])
				if err != nil {
					return out, &errPacketFraming{start, err.Error()}
				}
				off += used
				if n > len(data)-off {
					return out, &errPacketFraming{start, fmt.Sprintf("packet of tag %d claims %d bytes but only %d remain (truncated)", tag, n, len(data)-off)}
				}
				body = append(body, data[off:off+n]...)
				off += n
				if !partial {
					break
				}
			}
		} else { // legacy format
			tag = int(hdr>>2) & 0x0f
			var n int
			switch hdr & 3 {
			case 0:
				if off+1 > len(data) {
					return out, &errPacketFraming{start, "packet header cut short (truncated)"}
				}
				n, off = int(data[off]), off+1
			case 1:
				if off+2 > len(data) {
					return out, &errPacketFraming{start, "packet header cut short (truncated)"}
				}
				n, off = int(binary.BigEndian.Uint16(data[off:])), off+2
			case 2:
				if off+4 > len(data) {
					return out, &errPacketFraming{start, "packet header cut short (truncated)"}
				}
				l := binary.BigEndian.Uint32(data[off:])
				off += 4
				if uint64(l) > uint64(len(data)-off) {
					return out, &errPacketFraming{start, fmt.Sprintf("packet of tag %d claims %d bytes but only %d remain (truncated)", tag, l, len(data)-off)}
				}
				n = int(l)
			default: // indeterminate: to the end
				n = len(data) - off
			}
			if n > len(data)-off {
				return out, &errPacketFraming{start, fmt.Sprintf("packet of tag %d claims %d bytes but only %d remain (truncated)", tag, n, len(data)-off)}
			}
			body = data[off : off+n]
			off += n
		}
		out = append(out, rawPacket{Tag: tag, Offset: start, Body: body})
	}
	return out, nil
}

// newLength decodes a new-format body length.
func newLength(b []byte) (n int, partial bool, used int, err error) {
	if len(b) == 0 {
		return 0, false, 0, fmt.Errorf("packet length missing (truncated)")
	}
	switch l := b[0]; {
	case l < 192:
		return int(l), false, 1, nil
	case l < 224:
		if len(b) < 2 {
			return 0, false, 0, fmt.Errorf("packet length cut short (truncated)")
		}
		return (int(l)-192)<<8 + int(b[1]) + 192, false, 2, nil
	case l < 255:
		return 1 << (l & 0x1f), true, 1, nil
	default:
		if len(b) < 5 {
			return 0, false, 0, fmt.Errorf("packet length cut short (truncated)")
		}
		v := binary.BigEndian.Uint32(b[1:])
		if uint64(v) > 1<<30 {
			return 0, false, 0, fmt.Errorf("packet length %d is implausible", v)
		}
		return int(v), false, 5, nil
	}
}

// rawSig is what can be read from a signature packet without go-crypto.
type rawSig struct {
	Version int
	Type    int
	Hash    int
	Issuer  uint64 // 0 when the packet names none
}

// parseRawSig reads the version, type, hash algorithm and issuer of a v3, v4,
// v5 or v6 signature packet body.
func parseRawSig(b []byte) (rawSig, bool) {
	if len(b) < 1 {
		return rawSig{}, false
	}
	s := rawSig{Version: int(b[0])}
	switch s.Version {
	case 2, 3:
		if len(b) < 17 {
			return s, false
		}
		s.Type, s.Issuer, s.Hash = int(b[2]), binary.BigEndian.Uint64(b[7:15]), int(b[16])
		return s, true
	case 4, 5, 6:
		if len(b) < 6 {
			return s, false
		}
		s.Type, s.Hash = int(b[1]), int(b[3])
		lenSize := 2
		if s.Version == 6 {
			lenSize = 4
		}
		rest := b[4:]
		for area := 0; area < 2; area++ {
			if len(rest) < lenSize {
				return s, true
			}
			var n uint32
			if lenSize == 2 {
				n = uint32(binary.BigEndian.Uint16(rest))
			} else {
				n = binary.BigEndian.Uint32(rest)
			}
			rest = rest[lenSize:]
			if uint64(n) > uint64(len(rest)) {
				return s, true
			}
			if id, ok := issuerSubpacket(rest[:n]); ok && s.Issuer == 0 {
				s.Issuer = id
			}
			rest = rest[n:]
		}
		return s, true
	}
	return s, false
}

// issuerSubpacket finds an Issuer (16) or Issuer Fingerprint (33)
// subpacket and returns the issuer's 64-bit key ID.
func issuerSubpacket(b []byte) (uint64, bool) {
	for len(b) > 0 {
		var n, used int
		switch l := b[0]; {
		case l < 192:
			n, used = int(l), 1
		case l < 255:
			if len(b) < 2 {
				return 0, false
			}
			n, used = (int(l)-192)<<8+int(b[1])+192, 2
		default:
			if len(b) < 5 {
				return 0, false
			}
			v := binary.BigEndian.Uint32(b[1:])
			if uint64(v) > uint64(len(b)) {
				return 0, false
			}
			n, used = int(v), 5
		}
		b = b[used:]
		if n < 1 || n > len(b) {
			return 0, false
		}
		typ, data := b[0]&0x7f, b[1:n]
		switch {
		case typ == 16 && len(data) == 8:
			return binary.BigEndian.Uint64(data), true
		case typ == 33 && len(data) == 21 && data[0] == 4: // v4 fingerprint: key ID is its last 8 bytes
			return binary.BigEndian.Uint64(data[13:]), true
		case typ == 33 && len(data) == 33 && data[0] == 6: // v6: first 8 bytes
			return binary.BigEndian.Uint64(data[1:9]), true
		}
		b = b[n:]
	}
	return 0, false
}

// rawFingerprint computes the fingerprint of a v4 or v6 public key or
// public subkey packet body (RFC 9580 §5.5.4).
func rawFingerprint(body []byte) ([]byte, bool) {
	if len(body) < 1 {
		return nil, false
	}
	switch body[0] {
	case 4:
		if len(body) > 0xffff {
			return nil, false
		}
		h := sha1.New() //nolint:gosec // v4 fingerprint definition
		h.Write([]byte{0x99, byte(len(body) >> 8), byte(len(body))})
		h.Write(body)
		return h.Sum(nil), true
	case 6:
		h := sha256.New()
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(body)))
		h.Write([]byte{0x9b})
		h.Write(l[:])
		h.Write(body)
		return h.Sum(nil), true
	}
	return nil, false
}

// keyIDOf returns the 64-bit key ID of a v4 (last 8 bytes) or v6 (first 8
// bytes) fingerprint.
func keyIDOf(fpr []byte) uint64 {
	switch len(fpr) {
	case 20:
		return binary.BigEndian.Uint64(fpr[12:])
	case 32:
		return binary.BigEndian.Uint64(fpr[:8])
	}
	return 0
}

// hashName names an OpenPGP hash algorithm ID (RFC 9580 §9.5).
func hashName(id int) string {
	switch id {
	case 1:
		return "MD5"
	case 2:
		return "SHA-1"
	case 3:
		return "RIPEMD-160"
	case 8:
		return "SHA-256"
	case 9:
		return "SHA-384"
	case 10:
		return "SHA-512"
	case 11:
		return "SHA-224"
	case 12:
		return "SHA3-256"
	case 14:
		return "SHA3-512"
	}
	return fmt.Sprintf("hash #%d", id)
}

// weakHashID reports hash algorithms whose signatures must not bind a key:
// MD5, SHA-1 and RIPEMD-160 (RFC 9580 §9.5 deprecates all three for new
// signatures; collisions for MD5 and SHA-1 are practical).
func weakHashID(id int) bool { return id == 1 || id == 2 || id == 3 }
