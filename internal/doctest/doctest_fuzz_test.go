package doctest_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/readiness-dev/readiness/internal/doctest"
)

// FuzzParse: any markdown either parses into blocks whose bodies are
// pieces of the input, or is refused with an error naming file:line;
// never a panic.
func FuzzParse(f *testing.F) {
	f.Add("<!-- doctest: sh exit=\"0 1\" -->\n```sh\nreadiness check\n```\n")
	f.Add("<!-- doctest: config -->\n\n```yaml\nversion: 1\n```\n```\nprose\n```\n")
	f.Add("<!-- doctest: rego deny=\"a \\\"b\\\"\" -->\ntext\n```rego\n")
	f.Add("````\n<!-- doctest: sh -->\n```\n````\n")
	f.Fuzz(func(t *testing.T, md string) {
		blocks, err := doctest.Parse("x.md", []byte(md))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "x.md:") && !strings.HasPrefix(err.Error(), "read x.md") {
				t.Errorf("error without file:line: %v", err)
			}
			return
		}
		for _, b := range blocks {
			if b.Line < 1 || b.Kind == "" || !strings.Contains(md, strings.TrimSuffix(b.Body, "\n")) {
				t.Errorf("block %+v does not come from the input", b)
			}
		}
	})
}

// FuzzWords: splitting a command line never panics, and a line of plain
// words splits on blanks.
func FuzzWords(f *testing.F) {
	f.Add(`readiness check -o "json=a b.json" --only 'x y' # comment`)
	f.Add(`a\ b "c\"d" 'e`)
	f.Fuzz(func(t *testing.T, line string) {
		words, err := doctest.Words(line)
		if err != nil {
			return
		}
		otherSpace := strings.IndexFunc(line, func(r rune) bool { return unicode.IsSpace(r) && r != ' ' && r != '\t' }) >= 0
		if !otherSpace && !strings.ContainsAny(line, "'\"\\#") && strings.Join(words, " ") != strings.Join(strings.Fields(line), " ") {
			t.Errorf("%q split into %q", line, words)
		}
	})
}

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
		err  bool
	}{
		{`readiness check -o text -o json=evidence.json   # the main job`, []string{"readiness", "check", "-o", "text", "-o", "json=evidence.json"}, false},
		{`readiness explain "WF-SCAN NOT" 'a b'`, []string{"readiness", "explain", "WF-SCAN NOT", "a b"}, false},
		{`readiness check | tee x`, nil, true},
		{`readiness image verify $IMAGE`, nil, true},
		{`readiness "unclosed`, nil, true},
	} {
		got, err := doctest.Words(tc.line)
		if (err != nil) != tc.err || strings.Join(got, "\x00") != strings.Join(tc.want, "\x00") {
			t.Errorf("Words(%q) = %q, %v; want %q, error %v", tc.line, got, err, tc.want, tc.err)
		}
	}
}

func TestParseRefusesStrayMarkers(t *testing.T) {
	for name, md := range map[string]string{
		"marker before prose": "<!-- doctest: sh -->\nsome prose\n```sh\nreadiness check\n```\n",
		"marker at the end":   "text\n<!-- doctest: sh -->\n",
		"unclosed block":      "<!-- doctest: sh -->\n```sh\nreadiness check\n",
		"two markers":         "<!-- doctest: sh -->\n<!-- doctest: sh -->\n```sh\nreadiness check\n```\n",
		"bad option":          "<!-- doctest: sh exit=\"0 -->\n```sh\nreadiness check\n```\n",
		"marker without kind": "<!-- doctest: -->\n```sh\nreadiness check\n```\n",
		"option given twice":  "<!-- doctest: sh exit=0 exit=1 -->\n```sh\nreadiness check\n```\n",
	} {
		if _, err := doctest.Parse("x.md", []byte(md)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	blocks, err := doctest.Parse("x.md", []byte("```\n<!-- doctest: sh -->\n```\n\n<!-- doctest: config run=false -->\n\n```yaml\nversion: 1\n```\n"))
	if err != nil || len(blocks) != 1 || blocks[0].Line != 7 || blocks[0].Opts["run"] != "false" || blocks[0].Body != "version: 1\n" {
		t.Errorf("blocks %+v, err %v: a marker inside a code block is text, the marked block is at line 7", blocks, err)
	}
}
