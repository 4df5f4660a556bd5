// Package doctest extracts the examples of README.md and docs/ that are
// marked to run, so that the test suite can run them as written.
//
// A block runs when the line before its opening fence (blank lines aside)
// is a marker:
//
//	<!-- doctest: KIND key=value key="a value" ... -->
//
// KIND says how (config, rego, sh; see doctest_test.go), the options say
// with what (fixture files, expected exit codes). Unmarked blocks are prose:
// synopses, transcripts, commands that need the network or a cloud account.
package doctest

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Block is one marked example.
type Block struct {
	// File and Line locate the opening fence, for failure messages.
	File string
	Line int
	// Kind and Opts come from the marker.
	Kind string
	Opts map[string]string
	// Info is the fence's info string (yaml, sh, rego…); Body its content.
	Info string
	Body string
}

// Where is "file:line" of the block's opening fence.
func (b Block) Where() string { return fmt.Sprintf("%s:%d", b.File, b.Line) }

var (
	markerRE = regexp.MustCompile(`^<!--\s*doctest:\s*(.*?)\s*-->\s*$`)
	optRE    = regexp.MustCompile(`^([a-z][a-z0-9_-]*)=("(?:[^"\\]|\\.)*"|[^"\s]\S*|)(?:\s|$)`)
	fenceRE  = regexp.MustCompile("^(```+|~~~+)\\s*([^`\\s]*)")
)

// Parse returns the marked blocks of a markdown file. A marker that is not
// followed by a fenced block, a block that never closes, or a malformed
// marker is an error naming file:line: a marked example must not silently
// stop running.
func Parse(file string, data []byte) ([]Block, error) {
	var out []Block
	var pending *Block
	var fence string
	var body strings.Builder
	var cur *Block
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if cur != nil {
			if strings.HasPrefix(strings.TrimSpace(line), fence) && strings.Trim(strings.TrimSpace(line), fence[:1]) == "" {
				cur.Body = body.String()
				out = append(out, *cur)
				cur = nil
				continue
			}
			body.WriteString(line)
			body.WriteByte('\n')
			continue
		}
		if m := markerRE.FindStringSubmatch(line); m != nil {
			if pending != nil {
				return nil, fmt.Errorf("%s:%d: doctest marker not followed by a fenced block", file, pending.Line)
			}
			b, err := marker(m[1])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", file, n, err)
			}
			b.File, b.Line = file, n
			pending = &b
			continue
		}
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			if pending != nil {
				pending.Line, pending.Info = n, m[2]
				cur, fence = pending, m[1]
				pending = nil
				body.Reset()
				continue
			}
			// An unmarked block: skip to its end so its content is not
			// read as markers or fences.
			cur, fence = nil, m[1]
			for sc.Scan() {
				n++
				if t := strings.TrimSpace(sc.Text()); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
					break
				}
			}
			continue
		}
		if pending != nil && strings.TrimSpace(line) != "" {
			return nil, fmt.Errorf("%s:%d: doctest marker not followed by a fenced block", file, pending.Line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: marked block never closes", file, cur.Line)
	}
	if pending != nil {
		return nil, fmt.Errorf("%s:%d: doctest marker not followed by a fenced block", file, pending.Line)
	}
	return out, nil
}

// marker parses "KIND key=value ...".
func marker(s string) (Block, error) {
	kind, rest, _ := strings.Cut(strings.TrimSpace(s), " ")
	if kind == "" {
		return Block{}, fmt.Errorf("doctest marker without a kind")
	}
	b := Block{Kind: kind, Opts: map[string]string{}}
	rest = strings.TrimSpace(rest)
	for rest != "" {
		m := optRE.FindStringSubmatch(rest)
		if m == nil {
			return Block{}, fmt.Errorf("doctest marker: cannot read option at %q; write key=value or key=\"a value\"", rest)
		}
		v := m[2]
		if strings.HasPrefix(v, `"`) {
			v = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(v[1 : len(v)-1])
		}
		if _, dup := b.Opts[m[1]]; dup {
			return Block{}, fmt.Errorf("doctest marker: option %s given twice", m[1])
		}
		b.Opts[m[1]] = v
		rest = strings.TrimSpace(rest[len(m[0]):])
	}
	return b, nil
}

// Commands splits a shell block into commands: comments and blank lines
// dropped, backslash continuations joined, each command split into words
// with single and double quotes honoured. It understands no pipes,
// redirections or variables: a block that needs them is not marked.
func Commands(body string) ([][]string, error) {
	var out [][]string
	var joined strings.Builder
	for _, line := range strings.Split(body, "\n") {
		if strings.HasSuffix(line, `\`) {
			joined.WriteString(strings.TrimSuffix(line, `\`))
			joined.WriteByte(' ')
			continue
		}
		joined.WriteString(line)
		words, err := Words(joined.String())
		joined.Reset()
		if err != nil {
			return nil, err
		}
		if len(words) > 0 {
			out = append(out, words)
		}
	}
	return out, nil
}

// Words splits one command line as a POSIX shell would for plain words and
// quotes; an unquoted # starts a comment.
func Words(line string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unclosed ' in %q", line)
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte(`"\$`+"`", line[i+1]) >= 0 {
					i++
				}
				w.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, fmt.Errorf("unclosed \" in %q", line)
			}
			inWord = true
		case c == '\\' && i+1 < len(line):
			i++
			w.WriteByte(line[i])
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			i = len(line)
		case strings.IndexByte("|&;<>$`()", c) >= 0:
			return nil, fmt.Errorf("%q uses the shell (%c): doctest runs plain commands only", line, c)
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
