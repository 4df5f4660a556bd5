// Package need is how a test says it cannot run here: a loud skip on a
// developer's machine, a failure under CI=true, where scripts/test.sh
// provides every tool and server the suite uses. scripts/test.sh also fails
// a CI run in which any test skipped that scripts/test-skips.allow does not
// name, so a skip written without this package cannot pass CI either.
package need

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// InCI reports whether this run is CI's (CI=true), where nothing may skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Skip skips the test with a loud reason, or fails it under CI=true.
func Skip(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		tb.Fatalf("%s; CI=true: CI must provide it (scripts/test.sh does)", msg)
	}
	tb.Skipf("SKIPPED: %s", msg)
}

// PostgresDSN is the test PostgreSQL's DSN from READINESS_TEST_POSTGRES_DSN
// (scripts/test.sh sets it when a server runs at 127.0.0.1:5432), or Skip.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("READINESS_TEST_POSTGRES_DSN")
	if dsn == "" {
		Skip(tb, "READINESS_TEST_POSTGRES_DSN is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return dsn
}

// Tool is the path of the first of names found on PATH or in
// $(go env GOPATH)/bin, where scripts/test.sh installs the pinned tools;
// without any, Skip.
func Tool(tb testing.TB, names ...string) string {
	tb.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, name := range names {
			p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", name)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	Skip(tb, "%s is not installed (scripts/test.sh installs it)", strings.Join(names, " or "))
	return ""
}
