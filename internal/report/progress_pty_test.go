package report_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/report"
	"github.com/readiness-dev/readiness/internal/testutil/need"
)

// The live display on a real terminal: the runner's events drive it, and
// the last frame left on screen must agree with each check's result (it
// once showed another check's status after the results were sorted).
func TestProgressLiveOnPTY(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		need.Skip(t, "no pseudo-terminal available: %v", err)
	}
	defer ptmx.Close()
	var screen bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		io.Copy(&screen, ptmx) // ends with EIO once tty is closed
	}()

	outcome := func(st checks.Status) checks.Check {
		return checks.CheckFunc(func(context.Context) (checks.Result, error) {
			time.Sleep(5 * time.Millisecond)
			switch st {
			case checks.StatusError:
				return checks.Result{}, errors.New("trivy not found")
			case checks.StatusFail:
				return checks.Result{Status: st, Findings: []checks.Finding{{Rule: "WF-X", Severity: checks.SeverityHigh}}}, nil
			}
			return checks.Result{Status: st}, nil
		})
	}
	// Config order, deliberately not name order.
	jobs := []checks.Job{
		{Name: "workflow", Timeout: time.Second, Check: outcome(checks.StatusFail)},
		{Name: "tests", Timeout: time.Second, Check: outcome(checks.StatusPass)},
		{Name: "image-scan", Timeout: time.Second, Check: outcome(checks.StatusError)},
		{Name: "security-key", Timeout: time.Second, Check: outcome(checks.StatusPass)},
	}
	p := report.NewProgress(tty, report.ProgressOptions{Live: true, Color: true, Interval: time.Millisecond})
	(&checks.Runner{Events: p.Event}).Run(context.Background(), jobs)
	p.Stop()
	tty.Close()
	<-read

	// The last frame is what follows the last cursor-up.
	out := screen.String()
	if i := strings.LastIndex(out, "\x1b[4A"); i >= 0 {
		out = out[i:]
	}
	plain := regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`).ReplaceAllString(out, "")
	plain = strings.ReplaceAll(plain, "\r", "")
	want := map[string]string{
		"image-scan": "✗ image-scan  error", "security-key": "✓ security-key  pass",
		"tests": "✓ tests  pass", "workflow": "• workflow  1 finding",
	}
	lines := strings.Split(strings.TrimSpace(plain), "\n")
	if len(lines) != 4 {
		t.Fatalf("last frame has %d lines, want 4:\n%s", len(lines), plain)
	}
	for i, name := range []string{"image-scan", "security-key", "tests", "workflow"} {
		if !strings.HasPrefix(lines[i], want[name]) {
			t.Errorf("line %d: %q, want it to start with %q", i+1, lines[i], want[name])
		}
	}
}
