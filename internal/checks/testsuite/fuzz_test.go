package testsuite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// seedReports adds every report in testdata/reports with one of exts, and
// each cut in half, as fuzz seeds.
func seedReports(f *testing.F, exts ...string) {
	f.Helper()
	err := filepath.WalkDir(filepath.Join("testdata", "reports"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, ext := range exts {
			if strings.HasSuffix(path, ext) {
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				f.Add(data)
				f.Add(data[:len(data)/2])
			}
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
}

// checkReport holds for every parse, whatever the input: the parser
// returned, and what it kept is bounded and printable.
func checkReport(t *testing.T, rep Report) {
	t.Helper()
	c := rep.Count()
	if c.Passed+c.Failed+c.Skipped+c.Errors != c.Total || c.Total != len(rep.Tests) {
		t.Fatalf("counts do not add up: %+v for %d tests", c, len(rep.Tests))
	}
	for _, tc := range rep.Tests {
		if tc.ID == "" || !utf8.ValidString(tc.ID) || len(tc.ID) > maxNameBytes+len("…") {
			t.Fatalf("bad ID %q", tc.ID)
		}
		switch tc.Outcome {
		case Passed, Failed, Errored, Skipped, XFailed, Unfinished:
		default:
			t.Fatalf("test %q has outcome %q", tc.ID, tc.Outcome)
		}
		if len(tc.Output) > maxOutputBytes+16 || len(tc.Message) > maxMessageBytes+16 {
			t.Fatalf("test %q keeps %d bytes of output, %d of message", tc.ID, len(tc.Output), len(tc.Message))
		}
	}
	if len(rep.Notes) > 21 {
		t.Fatalf("%d notes", len(rep.Notes))
	}
}

func FuzzParseJUnit(f *testing.F) {
	seedReports(f, ".xml")
	for _, s := range []string{"", "<", "<testsuite>", `<testsuites><testsuite name="pytest"><testcase classname="a.B" name="c"><skipped type="pytest.xfail"/></testcase></testsuite></testsuites>`,
		"<?xml version=\"1.0\" encoding=\"latin1\"?><testsuite/>", "<testsuite><testcase><failure><![CDATA[x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, _ := parseJUnit(data)
		checkReport(t, rep)
	})
}

func FuzzParseGoTest(f *testing.F) {
	seedReports(f, ".json")
	for _, s := range []string{"", "{}", `{"Action":"run","Test":"T"}`, `{"Action":"fail","Package":"p"}` + "\n" + `{"Action":"start","Package":"q"}`,
		`{"Action":"output","Package":"p","Output":"ok  \tp\t(cached)\n"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, _ := parseGoTest(data)
		checkReport(t, rep)
	})
}

func FuzzParseTAP(f *testing.F) {
	seedReports(f, ".tap")
	for _, s := range []string{"", "1..0", "ok", "not ok 1 # TODO", "    ok 1 - child\nok 1 - parent\n1..1", "ok 1 - a\n  ---\n  message: x\n", "ok \\# \\\\ # skip", "Bail out!"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, _ := parseTAP(data)
		checkReport(t, rep)
	})
}
