package testsuite

import (
	"bytes"
	"fmt"
	"testing"
)

// Reports of 10,000 tests, one in a hundred failing: a large real suite.
func bigJUnit() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">`)
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, `<testcase classname="tests.api.test_m%d" name="test_%d" time="0.001"`, i/100, i)
		if i%100 == 0 {
			b.WriteString(`><failure message="assert 1 == 2">def test():&#10;&gt;  assert 1 == 2&#10;E  assert 1 == 2</failure></testcase>`)
		} else {
			b.WriteString(`/>`)
		}
	}
	b.WriteString(`</testsuite></testsuites>`)
	return b.Bytes()
}

func bigGoTest() []byte {
	var b bytes.Buffer
	for i := 0; i < 10000; i++ {
		act := "pass"
		if i%100 == 0 {
			act = "fail"
		}
		fmt.Fprintf(&b, `{"Time":"2026-11-24T22:43:05.385633757Z","Action":"run","Package":"example.com/m/p%d","Test":"Test%d"}`+"\n", i/100, i)
		fmt.Fprintf(&b, `{"Time":"2026-11-24T22:43:05.385633757Z","Action":"output","Package":"example.com/m/p%d","Test":"Test%d","Output":"=== RUN   Test%d\n"}`+"\n", i/100, i, i)
		fmt.Fprintf(&b, `{"Time":"2026-11-24T22:43:05.385633757Z","Action":"%s","Package":"example.com/m/p%d","Test":"Test%d","Elapsed":0.01}`+"\n", act, i/100, i)
	}
	return b.Bytes()
}

func bigTAP() []byte {
	var b bytes.Buffer
	b.WriteString("TAP version 13\n1..10000\n")
	for i := 1; i <= 10000; i++ {
		if i%100 == 0 {
			fmt.Fprintf(&b, "not ok %d - test %d\n  ---\n  message: boom\n  ...\n", i, i)
		} else {
			fmt.Fprintf(&b, "ok %d - test %d\n", i, i)
		}
	}
	return b.Bytes()
}

func benchParse(b *testing.B, data []byte, parse func([]byte) (Report, error)) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := parse(data)
		if err != nil || len(rep.Tests) != 10000 {
			b.Fatalf("%d tests, %v", len(rep.Tests), err)
		}
	}
}

func BenchmarkParseJUnit10k(b *testing.B)  { benchParse(b, bigJUnit(), parseJUnit) }
func BenchmarkParseGoTest10k(b *testing.B) { benchParse(b, bigGoTest(), parseGoTest) }
func BenchmarkParseTAP10k(b *testing.B)    { benchParse(b, bigTAP(), parseTAP) }

// BenchmarkAnalyze10kx3 judges three runs of a 10,000-test suite.
func BenchmarkAnalyze10kx3(b *testing.B) {
	rep, err := parseGoTest(bigGoTest())
	if err != nil {
		b.Fatal(err)
	}
	sr := &suiteRun{suite: suite{SuiteOptions{Name: "s", Command: []string{"go"}, Repeat: 3, Report: ReportOptions{Format: FormatGoTest}}}}
	for n := 1; n <= 3; n++ {
		sr.runs = append(sr.runs, runRecord{N: n, ExitCode: 1, Report: rep})
	}
	b.ReportAllocs()
	for b.Loop() {
		analyze(sr, "readiness.yaml")
		factsOf("/tmp", []*suiteRun{sr})
	}
}
