// Command testsummary reads `go test -json` on stdin, prints what a person
// needs from it (each package's result, the output of every failed test),
// and ends with every skipped test and why it skipped.
//
// It is the README test command's last word on skips: with -strict (which
// scripts/test.sh passes under CI=true) a skipped test that the allowlist
// does not name is a failure, so CI cannot pass by not running a test. A
// subtest that skipped counts on its own: a "PostgreSQL half" that did not
// run is a skip, never part of its parent's pass.
//
//	go test -json ./... | go run ./internal/tools/testsummary -allow scripts/test-skips.allow -strict
//
// Exit status: 0 when every package passed and no forbidden skip happened,
// 1 otherwise (also when the stream held no test result at all).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("testsummary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	allowPath := fs.String("allow", "", "allowlist of tests that may skip under -strict (lines: `package test-name  reason`)")
	strict := fs.Bool("strict", false, "a skipped test not in the allowlist fails the run (CI=true)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var allow allowlist
	if *allowPath != "" {
		var err error
		if allow, err = loadAllowlist(*allowPath); err != nil {
			fmt.Fprintf(stderr, "testsummary: %v\n", err)
			return 2
		}
	}
	s := newSummary(stdout)
	if err := s.read(stdin); err != nil {
		fmt.Fprintf(stderr, "testsummary: read go test output: %v\n", err)
		return 1
	}
	return s.finish(allow, *strict)
}

// event is one line of `go test -json` (cmd/test2json), including the build
// events go test has emitted since Go 1.24.
type event struct {
	Action      string
	Package     string
	ImportPath  string
	Test        string
	Output      string
	Elapsed     float64
	FailedBuild string
}

type key struct{ pkg, test string }

type skip struct {
	key
	reason string
}

type summary struct {
	out      io.Writer
	buf      map[key][]string // output of each running test, until its end
	build    map[string][]string
	skips    []skip
	failed   []key
	pkgFails []string
	results  int
}

func newSummary(out io.Writer) *summary {
	return &summary{out: out, buf: map[key][]string{}, build: map[string][]string{}}
}

func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// go vet, a linker or a panic outside a test: shown as it is.
			fmt.Fprintln(s.out, string(line))
			continue
		}
		s.handle(e)
	}
	return sc.Err()
}

func (s *summary) handle(e event) {
	switch e.Action {
	case "build-output":
		s.build[e.ImportPath] = append(s.build[e.ImportPath], e.Output)
		return
	case "build-fail":
		fmt.Fprint(s.out, strings.Join(s.build[e.ImportPath], ""))
		delete(s.build, e.ImportPath)
		return
	}
	k := key{e.Package, e.Test}
	switch e.Action {
	case "output":
		s.buf[k] = append(s.buf[k], e.Output)
	case "pass":
		s.results++
		if e.Test == "" {
			fmt.Fprintf(s.out, "ok  \t%s\t%.1fs\n", e.Package, e.Elapsed)
		}
		delete(s.buf, k)
	case "skip":
		s.results++
		if e.Test == "" {
			// A package without test files; go test says "?" for it.
			delete(s.buf, k)
			return
		}
		s.skips = append(s.skips, skip{k, skipReason(s.buf[k])})
		delete(s.buf, k)
	case "fail":
		s.results++
		if e.Test == "" {
			// Package output holds panics, timeouts and "FAIL" lines.
			fmt.Fprint(s.out, strings.Join(s.buf[k], ""))
			what := ""
			if e.FailedBuild != "" {
				what = " [build failed]"
			}
			fmt.Fprintf(s.out, "FAIL\t%s\t%.1fs%s\n", e.Package, e.Elapsed, what)
			s.pkgFails = append(s.pkgFails, e.Package)
		} else {
			fmt.Fprint(s.out, strings.Join(s.buf[k], ""))
			s.failed = append(s.failed, k)
		}
		delete(s.buf, k)
	}
}

// skipReason is what the test logged before it skipped, without go test's
// own framing lines.
func skipReason(lines []string) string {
	var keep []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		keep = append(keep, t)
	}
	if len(keep) == 0 {
		return "(no reason given)"
	}
	return strings.Join(keep, " ")
}

func (s *summary) finish(allow allowlist, strict bool) int {
	code := 0
	if s.results == 0 {
		fmt.Fprintln(s.out, "testsummary: no test result in the input: go test did not run")
		code = 1
	}
	sort.Slice(s.skips, func(i, j int) bool {
		if s.skips[i].pkg != s.skips[j].pkg {
			return s.skips[i].pkg < s.skips[j].pkg
		}
		return s.skips[i].test < s.skips[j].test
	})
	fmt.Fprintf(s.out, "\n==> %d skipped %s\n", len(s.skips), plural(len(s.skips), "test", "tests"))
	var forbidden []skip
	for _, sk := range s.skips {
		mark := ""
		if why, ok := allow.reason(sk.key); ok {
			mark = " [allowed: " + why + "]"
		} else if strict {
			mark = " [NOT ALLOWED under CI=true]"
			forbidden = append(forbidden, sk)
		}
		fmt.Fprintf(s.out, "  %s %s: %s%s\n", sk.pkg, sk.test, sk.reason, mark)
	}
	if len(forbidden) > 0 {
		fmt.Fprintf(s.out, "FAIL: %d %s skipped under CI=true without an entry in the allowlist; CI must provide what %s need, or the allowlist must say why not\n",
			len(forbidden), plural(len(forbidden), "test", "tests"), plural(len(forbidden), "it", "they"))
		code = 1
	}
	if n := len(s.failed) + len(s.pkgFails); n > 0 {
		fmt.Fprintf(s.out, "FAIL: %d failed %s, %d failed %s\n", len(s.failed), plural(len(s.failed), "test", "tests"),
			len(s.pkgFails), plural(len(s.pkgFails), "package", "packages"))
		for _, k := range s.failed {
			fmt.Fprintf(s.out, "  %s %s\n", k.pkg, k.test)
		}
		code = 1
	}
	return code
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// allowlist maps a package and test name to the reason it may skip in CI.
type allowlist map[key]string

func (a allowlist) reason(k key) (string, bool) {
	r, ok := a[k]
	return r, ok
}

func loadAllowlist(path string) (allowlist, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read allowlist: %w", err)
	}
	return parseAllowlist(path, string(data))
}

func parseAllowlist(path, text string) (allowlist, error) {
	a := allowlist{}
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			errs = append(errs, fmt.Errorf("%s:%d: want `package test-name reason`, every skip needs its reason", path, i+1))
			continue
		}
		a[key{f[0], f[1]}] = strings.Join(f[2:], " ")
	}
	return a, errors.Join(errs...)
}
