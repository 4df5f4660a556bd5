package report_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/report"
	"github.com/readiness-dev/readiness/internal/testutil/need"
)

func renderHTML(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := report.Write(&buf, "html", richDoc(t), report.Options{Rules: rules()}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHTMLGolden(t *testing.T) {
	page := renderHTML(t)
	goldenFile(t, "rich.html", page)
	s := string(page)
	// Self-contained: nothing is fetched, nothing runs.
	for _, banned := range []string{"<script", "<link", "http://", "https://fonts", "@import", "url(", "src="} {
		if strings.Contains(s, banned) {
			t.Errorf("page contains %q; it must be self-contained", banned)
		}
	}
	// Untrusted text (test names, waiver reasons) is escaped.
	if strings.Contains(s, "TestLedger<lost>") {
		t.Error("a test name reached the page unescaped")
	}
	t.Logf("page weight: %d bytes", len(page))
}

// BenchmarkHTML measures rendering the release page from a judged document.
func BenchmarkHTML(b *testing.B) {
	doc := richDoc(b)
	opts := report.Options{Rules: rules()}
	var n int
	for b.Loop() {
		var buf bytes.Buffer
		if err := report.Write(&buf, "html", doc, opts); err != nil {
			b.Fatal(err)
		}
		n = buf.Len()
	}
	b.ReportMetric(float64(n), "bytes/page")
}

// chromium finds the browser, or skips (fails under CI=true: the test
// script installs it).
func chromium(t *testing.T) string {
	t.Helper()
	return need.Tool(t, "chromium", "chromium-browser", "google-chrome")
}

// browse runs headless Chromium on file with extra flags and returns its
// stdout and stderr.
func browse(t *testing.T, bin, file string, extra ...string) (string, string) {
	t.Helper()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	args = append(args, extra...)
	args = append(args, "file://"+file)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || out.Len() == 0 {
			t.Fatalf("chromium %v: %v\n%s", extra, err, errOut.String())
		}
	}
	return out.String(), errOut.String()
}

// consoleRE matches what Chromium logs for a page's console messages and
// uncaught errors (including Content-Security-Policy refusals).
var consoleRE = regexp.MustCompile(`(?m)^.*(CONSOLE|Uncaught|Refused to).*$`)

// The page as a browser sees it: the DOM after parsing, no console errors,
// and a screenshot kept as a test artifact.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "release.html")
	if err := os.WriteFile(page, renderHTML(t), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("harness sees console errors", func(t *testing.T) {
		// The check below must be able to fail: a page that logs an error
		// is caught.
		bad := filepath.Join(dir, "bad.html")
		os.WriteFile(bad, []byte(`<!DOCTYPE html><title>x</title><script>console.error("boom")</script>`), 0o644)
		_, stderr := browse(t, bin, bad, "--dump-dom")
		if !consoleRE.MatchString(stderr) {
			t.Fatalf("a console.error went unnoticed; stderr:\n%s", stderr)
		}
	})

	start := time.Now()
	dom, stderr := browse(t, bin, page, "--dump-dom")
	took := time.Since(start)
	if m := consoleRE.FindAllString(stderr, -1); len(m) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(m, "\n"))
	}
	for _, want := range []string{
		`data-verdict="NO-GO"`,
		`data-check="image-scan" data-status="fail"`,
		`data-check="tests" data-status="fail"`,
		`data-check="security-key" data-status="pass"`,
		`data-rule="ORG-FREEZE"`,
		`data-waiver="KEY-NO-EXPIRY" data-state="expired"`,
		`data-test="pkg/TestCache"`,
		`TestLedger&lt;lost&gt;`,
		`data-image="registry.example/app"`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %s", want)
		}
	}
	if n := strings.Count(dom, `class="card `); n != 4 {
		t.Errorf("%d gate cards, want 4", n)
	}

	art := os.Getenv("READINESS_TEST_ARTIFACTS")
	if art == "" {
		art = filepath.Join(os.TempDir(), "readiness-test-artifacts")
	}
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(art, "release-page.png")
	browse(t, bin, page, "--screenshot="+shot, "--window-size=1280,2400", "--hide-scrollbars")
	st, err := os.Stat(shot)
	if err != nil || st.Size() < 10_000 {
		t.Fatalf("no screenshot at %s (%v)", shot, err)
	}
	fmt.Fprintf(os.Stderr, "release page: %d bytes, chromium load+dump %s, screenshot %s\n", len(renderHTML(t)), took.Round(time.Millisecond), shot)
}

// The chain's signature step shows what `image release` wrote; one whose
// own verification failed is marked bad, not ok.
func TestHTMLChainSignature(t *testing.T) {
	digest := "sha256:" + strings.Repeat("cd", 32)
	for _, tc := range []struct {
		name string
		rel  report.Release
		want string
	}{
		{"verified", report.Release{Signature: "app:sha256-cd.sig by key SHA256:ab"}, `<div class="step ok"><b>signature</b>app:sha256-cd.sig by key SHA256:ab</div>`},
		{"verification failed", report.Release{Signature: "app:sha256-cd.sig by key SHA256:ab; verification FAILED: x", Unverified: true}, `<div class="step bad"><b>signature</b>app:sha256-cd.sig by key SHA256:ab; verification FAILED: x</div>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			opts := report.Options{Rules: rules(), Releases: map[string]report.Release{digest: tc.rel}}
			if err := report.Write(&buf, "html", richDoc(t), opts); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), tc.want) {
				t.Errorf("page lacks %s", tc.want)
			}
		})
	}
}

// TestHTMLSuiteWithoutReport: a suite that produced no report shows that
// no test was recorded, never "every recorded test passed" (issue 27, 8).
func TestHTMLSuiteWithoutReport(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tests map[string]any
		want  string
		not   string
	}{
		{"no report", map[string]any{}, "no test was recorded", "every recorded test passed"},
		{"all passed", map[string]any{"TestA": []any{"passed"}}, "every recorded test passed", "no test was recorded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := richDoc(t)
			doc.Checks[2].Facts = map[string]any{"suites": []any{map[string]any{
				"name": "unit", "runs": []any{map[string]any{"run": 1, "exit_code": 2, "duration_ms": 100}}, "tests": tc.tests,
			}}}
			var buf bytes.Buffer
			if err := report.Write(&buf, "html", doc, report.Options{Rules: rules()}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), tc.want) || strings.Contains(buf.String(), tc.not) {
				t.Errorf("page: want %q and not %q", tc.want, tc.not)
			}
		})
	}
}

// TestHTMLHasNothingMachineLocal: a shared page names no absolute path of
// the machine that ran: not the checkout, not a temporary log directory
// (issue 28, 5; issue 27, 8).
func TestHTMLHasNothingMachineLocal(t *testing.T) {
	doc := richDoc(t)
	var buf bytes.Buffer
	if err := report.Write(&buf, "html", doc, report.Options{Rules: rules()}); err != nil {
		t.Fatal(err)
	}
	doc.Repository.Remote = "" // the header falls back to the checkout's name
	var noRemote bytes.Buffer
	if err := report.Write(&noRemote, "html", doc, report.Options{Rules: rules()}); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{buf.String(), noRemote.String()} {
		for _, local := range []string{doc.Repository.Root, "/var/tmp/", "/tmp/"} {
			if strings.Contains(page, local) {
				t.Errorf("the page names %q", local)
			}
		}
	}
}

// TestWaiverTimelineTodayLabelInside: the "today DATE" label hangs inwards
// when the day sits at either edge of the timeline, instead of being
// centred on it and clipped ("026-11-24").
func TestWaiverTimelineTodayLabelInside(t *testing.T) {
	for _, tc := range []struct {
		name   string
		days   []int
		anchor string
	}{
		{"no waiver expired: today is the left edge", []int{20, 40}, "start"},
		{"long expired: today is near the right edge", []int{-2000, -20}, "end"},
		{"recently expired: today has room", []int{-40, -20}, "middle"},
		{"both sides: today in the middle", []int{-30, 30}, "middle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := richDoc(t)
			doc.Waivers = nil
			for i, d := range tc.days {
				doc.Waivers = append(doc.Waivers, evidence.WaiverStatus{ID: fmt.Sprintf("W-%d", i), Expires: "2027-01-01", State: evidence.WaiverActive, DaysLeft: d})
			}
			var buf bytes.Buffer
			if err := report.Write(&buf, "html", doc, report.Options{Rules: rules()}); err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`<text x="[0-9.]+" y="10" text-anchor="([a-z]+)">today `).FindSubmatch(buf.Bytes())
			if m == nil {
				t.Fatal("no today label in the timeline")
			}
			if got := string(m[1]); got != tc.anchor {
				t.Errorf("today label anchored %q, want %q", got, tc.anchor)
			}
		})
	}
}
