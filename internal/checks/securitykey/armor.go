package securitykey

import (
	"bytes"
	"encoding/base64"
	"fmt"

	"github.com/readiness-dev/readiness/internal/disclosure"
)

// armorBlock is one ASCII-armored block (RFC 9580 §6) found in a file.
// go-crypto's armor reader skips the CRC-24 line without checking it, so
// this package decodes armor itself: gpg refuses a block whose checksum is
// wrong, and so must the gate.
type armorBlock struct {
	// Type is what follows "-----BEGIN ": "PGP PUBLIC KEY BLOCK".
	Type string
	// Line is the 1-based line of the BEGIN line.
	Line int
	// Body is the decoded binary content; nil when Problem is set.
	Body []byte
	// Problem says why the block cannot be used; "" when it is sound.
	Problem armorProblem
	// Detail is one sentence about the problem.
	Detail string
}

// armorProblem names what is wrong with an armored block. The values are
// part of finding IDs (KEY-MALFORMED/<path>/<problem>) and must not change.
type armorProblem string

const (
	armorOK        armorProblem = ""
	armorTruncated armorProblem = "truncated"
	armorCRC       armorProblem = "crc"
	armorBase64    armorProblem = "base64"
	armorHeader    armorProblem = "armor-header"
	armorEnd       armorProblem = "armor-end"
)

// A key file's armor lines are read by the rule that finds a key block
// pasted into SECURITY.md, so that the two never disagree.
const (
	armorBeginPrefix = disclosure.ArmorBegin
	armorEndPrefix   = disclosure.ArmorEnd
)

// parseArmor finds every armored block in data. Text outside blocks is
// ignored, as gpg ignores it. It never fails: a broken block is returned
// with its Problem set.
func parseArmor(data []byte) []armorBlock {
	lines := splitLines(data)
	var blocks []armorBlock
	for i := 0; i < len(lines); i++ {
		typ, ok := armorType(lines[i], armorBeginPrefix)
		if !ok {
			continue
		}
		b, next := parseBlock(lines, i, typ)
		blocks = append(blocks, b)
		i = next
	}
	return blocks
}

// armorType returns the label of a "-----BEGIN X-----" / "-----END X-----" line.
func armorType(line []byte, prefix string) (string, bool) { return disclosure.ArmorLabel(line, prefix) }

// parseBlock decodes the block whose BEGIN line is lines[start]; it returns
// the block and the index of its last line.
func parseBlock(lines [][]byte, start int, typ string) (armorBlock, int) {
	b := armorBlock{Type: typ, Line: start + 1}
	fail := func(p armorProblem, at int, format string, args ...any) (armorBlock, int) {
		b.Problem, b.Detail = p, fmt.Sprintf(format, args...)
		return b, at
	}
	i := start + 1
	// Armor headers ("Version: …", "Comment: …") end at a blank line.
	for ; i < len(lines); i++ {
		l := bytes.TrimSpace(lines[i])
		if len(l) == 0 {
			i++
			break
		}
		if _, ok := armorType(l, armorEndPrefix); ok {
			return fail(armorTruncated, i, "the armored block that starts on line %d ends before any data", b.Line)
		}
		if !isHeaderLine(l) {
			return fail(armorHeader, i, "line %d of the armored block is neither an armor header (Key: value) nor the blank line that must separate headers from data", i+1)
		}
	}
	var body bytes.Buffer
	var crc []byte
	crcLine := 0
	for ; i < len(lines); i++ {
		l := bytes.TrimSpace(lines[i])
		if endType, ok := armorType(l, armorEndPrefix); ok {
			if endType != typ {
				return fail(armorEnd, i, "the block begun on line %d as %q ends on line %d as %q", b.Line, typ, i+1, endType)
			}
			data, err := base64.StdEncoding.DecodeString(body.String())
			if err != nil {
				return fail(armorBase64, i, "the armored data of the block on line %d is not valid base64", b.Line)
			}
			if crc != nil {
				want := uint32(crc[0])<<16 | uint32(crc[1])<<8 | uint32(crc[2])
				if got := crc24(data); got != want {
					return fail(armorCRC, i, "the CRC-24 checksum on line %d does not match the data (the file was altered or damaged after it was exported)", crcLine)
				}
			}
			b.Body = data
			return b, i
		}
		if crc != nil {
			if len(l) == 0 {
				continue
			}
			return fail(armorEnd, i, "line %d follows the checksum line but is not the END line of the block", i+1)
		}
		if len(l) == 5 && l[0] == '=' {
			c, err := base64.StdEncoding.DecodeString(string(l[1:]))
			if err != nil || len(c) != 3 {
				return fail(armorCRC, i, "the checksum line %d is not a base64 CRC-24", i+1)
			}
			crc, crcLine = c, i+1
			continue
		}
		if bytes.HasPrefix(l, []byte(armorBeginPrefix)) {
			return fail(armorTruncated, i-1, "the armored block that starts on line %d has no END line before the next block on line %d", b.Line, i+1)
		}
		if !isBase64Line(l) {
			return fail(armorBase64, i, "line %d of the armored block is not base64", i+1)
		}
		body.Write(l)
	}
	return fail(armorTruncated, len(lines)-1, "the armored block that starts on line %d has no END line: the file is truncated", b.Line)
}

func isHeaderLine(l []byte) bool {
	k, _, ok := bytes.Cut(l, []byte(":"))
	if !ok || len(k) == 0 {
		return false
	}
	for _, c := range k {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

func isBase64Line(l []byte) bool {
	for _, c := range l {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
		default:
			return false
		}
	}
	return true
}

// splitLines splits on \n, dropping a trailing \r from each line.
func splitLines(data []byte) [][]byte {
	lines := bytes.Split(data, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	return lines
}

// crc24 is the OpenPGP armor checksum (RFC 9580 §6.1).
func crc24(data []byte) uint32 {
	const (
		init = 0xB704CE
		poly = 0x1864CFB
	)
	crc := uint32(init)
	for _, b := range data {
		crc ^= uint32(b) << 16
		for range 8 {
			crc <<= 1
			if crc&0x1000000 != 0 {
				crc ^= poly
			}
		}
	}
	return crc & 0xFFFFFF
}
