package report

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// The page is one self-contained file: inline CSS and SVG, no script, no
// external asset, and a Content-Security-Policy that forbids fetching any.
//
//go:embed html/page.html.tmpl
var htmlFS embed.FS

// pageTmpl is parsed on first use, not at start-up.
var pageTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{
		"mark": outcomeMark,
		"inc":  func(n int) int { return n + 1 },
	}).ParseFS(htmlFS, "html/page.html.tmpl"))
})

// Release records what `image release` did after the verdict, keyed by
// image digest, for the HTML page's chain. The evidence document cannot
// hold it (it is signed into the attestation), so the caller passes it.
type Release struct {
	Signature    string
	Attestations []string
	// Unverified: the release's own verification of what it wrote failed.
	Unverified bool
}

type htmlPage struct {
	GO                      bool
	Decision, Verdict       string
	Repo, Commit, Branch    string
	Generated, Tool, Schema string
	Config, Policies        string
	PolicyError             string
	Checks                  []htmlCheck
	// Since is the comparison with an earlier run (check --compare),
	// shown first; nil without one.
	Since    *htmlSince
	Blockers []htmlMessage
	Warnings []htmlMessage
	Waivers  []htmlWaiver
	Timeline template.HTML
	Waived   []htmlWaived
	VEX      []htmlVEX
	Suites   []htmlSuite
	Chains   []htmlChain
}

type htmlCheck struct {
	Name, Type, Status, Duration, Summary, Log, Blocking string
	Required                                             bool
}

// htmlSince is what changed since an earlier run.
type htmlSince struct {
	Run, Summary string
	// New are the titles of the blockers the earlier run did not have.
	New   []string
	Fixed []fixedCause
}

type htmlMessage struct {
	Severity, Msg, Rule, Where string
	// Trend is "new" or "still open" against an earlier run, else "".
	Trend string
	// Places are every occurrence of a cause found in more than one.
	Places []htmlPlace
	// Fix is the remedy as HTML: `code` spans as <code>, command lines as
	// a <pre> block a reader can copy (fixHTML).
	Fix template.HTML
}

type htmlPlace struct{ Where, Note string }

type htmlWaiver struct {
	evidence.WaiverStatus
	Class, Left string
}

type htmlWaived struct {
	ID, Check, Msg, Note string
}

type htmlVEX struct {
	Check, Finding, Package, Status, Statement, Source string
}

type htmlSuite struct {
	Check, Name string
	Runs        []htmlRun
	Rows        []htmlRow
	Omitted     string
	// Recorded is how many tests any report of the suite named: 0 when it
	// produced no report, which must never read as "every test passed".
	Recorded int
}

type htmlRun struct {
	N, ExitCode   int
	Duration, Log string
}

type htmlRow struct {
	Name  string
	Cells []string
	Flaky bool
}

type htmlChain struct {
	Name, Digest, Platform            string
	Scan, ScanClass                   string
	Signature, SignClass, AttestClass string
	Attestations                      []string
}

func writeHTML(w io.Writer, doc *evidence.Document, opts Options) error {
	return pageTmpl().Execute(w, buildPage(doc, opts))
}

func buildPage(doc *evidence.Document, opts Options) htmlPage {
	p := htmlPage{
		GO: doc.GO(), Decision: doc.Verdict.Decision, Verdict: VerdictLine(doc),
		Generated: doc.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC"), Tool: doc.Tool.Version, Schema: doc.Schema,
		PolicyError: doc.Verdict.PolicyError,
	}
	if r := doc.Repository; r != nil {
		// The page is shared: the checkout's absolute path on the machine
		// that ran it means nothing elsewhere.
		p.Repo, p.Commit, p.Branch = orDefault(r.Remote, filepath.Base(r.Root)), short(r.Commit), r.Branch
	}
	if doc.Config.Path != "" {
		p.Config = relPath(doc, doc.Config.Path)
	}
	p.Policies = count(len(doc.Verdict.Policies), "policy module", "policy modules")
	for _, g := range gateRows(doc) {
		c := htmlCheck{Name: g.Name, Type: g.Type, Status: g.Status, Duration: g.duration(), Summary: g.summary(), Required: true}
		if n := g.Blocking; n > 0 {
			c.Blocking = count(n, "blocker", "blockers")
		}
		if r := g.Result; r != nil {
			c.Required, c.Log = r.Required, shareable(doc, logDir(*r))
			p.Suites = append(p.Suites, testSuites(doc, *r)...)
		}
		p.Checks = append(p.Checks, c)
	}
	cs := causes(doc, opts.Rules)
	tr := newTrend(doc, cs, opts)
	if tr != nil {
		p.Since = &htmlSince{Run: tr.Since, Summary: tr.Summary(), Fixed: tr.Fixed}
	}
	for i, c := range cs {
		m := htmlMessage{Severity: orDefault(c.Severity, "blocking"), Msg: c.Title, Rule: c.Rule, Fix: fixHTML(c.Fix), Trend: tr.of(i)}
		if m.Trend == trendNew {
			p.Since.New = append(p.Since.New, c.Title)
		}
		if len(c.Members) > 1 {
			for _, o := range c.Places {
				m.Places = append(m.Places, htmlPlace{Where: o.place.String(), Note: o.Note})
			}
		} else if pl := firstPlace(c); pl.Line > 0 {
			m.Where = pl.String()
		}
		p.Blockers = append(p.Blockers, m)
	}
	for _, m := range doc.Verdict.Warn {
		p.Warnings = append(p.Warnings, htmlMessage{Severity: orDefault(m.Severity, "warn"), Msg: m.Msg, Rule: m.Rule})
	}
	for _, wv := range doc.Waivers {
		hw := htmlWaiver{WaiverStatus: wv, Left: daysLeft(wv)}
		if pl, ok := parseFileLine(wv.Location); ok {
			hw.Location = fmt.Sprintf("%s:%d", relPath(doc, pl.Path), pl.Line)
		}
		switch wv.State {
		case evidence.WaiverExpired:
			hw.Class = "gone"
		case evidence.WaiverExpiring:
			hw.Class = "soon"
		}
		p.Waivers = append(p.Waivers, hw)
	}
	p.Timeline = waiverTimeline(doc)
	for _, x := range waivedFindings(doc) {
		p.Waived = append(p.Waived, htmlWaived{ID: x.Finding.ID, Check: x.Check, Msg: x.Finding.Message, Note: waiverNote(doc, x.Finding.WaivedBy)})
	}
	for _, x := range evidence.VEXSuppressed(doc) {
		p.VEX = append(p.VEX, htmlVEX{Check: x.Check, Finding: x.Finding, Package: x.Package, Status: x.Status, Statement: x.Statement, Source: relPath(doc, x.Source)})
	}
	p.Chains = imageChains(doc, opts.Releases)
	return p
}

// daysLeft says when a waiver ends, in words.
func daysLeft(w evidence.WaiverStatus) string {
	switch {
	case w.DaysLeft < 0:
		return "expired " + count(-w.DaysLeft, "day", "days") + " ago"
	case w.DaysLeft == 0:
		return "expires today"
	default:
		return "in " + count(w.DaysLeft, "day", "days")
	}
}

// count writes "1 day", "2 days".
func count(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, plural(n, one, many))
}

// waiverTimeline draws each waiver's expiry on a line from the run's date
// to the furthest expiry: expired red, expiring soon amber, others green.
func waiverTimeline(doc *evidence.Document) template.HTML {
	if len(doc.Waivers) == 0 {
		return ""
	}
	const width, left, right, rowH = 900, 10, 10, 22
	maxDays := 30
	minDays := 0
	for _, w := range doc.Waivers {
		maxDays = max(maxDays, w.DaysLeft+1)
		minDays = min(minDays, w.DaysLeft)
	}
	span := float64(maxDays - minDays)
	x := func(d int) float64 { return left + float64(d-minDays)/span*(width-left-right) }
	ws := append([]evidence.WaiverStatus(nil), doc.Waivers...)
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].DaysLeft < ws[j].DaysLeft })
	h := 30 + rowH*len(ws)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="timeline" role="img" aria-label="waiver expiry timeline" viewBox="0 0 %d %d" width="100%%" style="max-width:%dpx" font-size="12" font-family="system-ui,sans-serif">`, width, h, width)
	fmt.Fprintf(&b, `<line x1="%d" y1="20" x2="%d" y2="20" stroke="#8c959f"/>`, left, width-right)
	// The "today" label is about 110 units wide: centred on the day's line
	// it would be clipped at either edge, so there it hangs inwards.
	todayAnchor := "middle"
	switch {
	case x(0) < left+60:
		todayAnchor = "start"
	case x(0) > width-right-60:
		todayAnchor = "end"
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="12" x2="%.1f" y2="%d" stroke="#1f2328" stroke-dasharray="3 3"/><text x="%.1f" y="10" text-anchor="%s">today %s</text>`,
		x(0), x(0), h, x(0), todayAnchor, doc.GeneratedAt.UTC().Format("2006-01-02"))
	for i, w := range ws {
		color := "#1a7f37"
		switch w.State {
		case evidence.WaiverExpired:
			color = "#cf222e"
		case evidence.WaiverExpiring:
			color = "#9a6700"
		}
		y := 30 + rowH*i + rowH/2
		cx := x(w.DaysLeft)
		anchor, tx := "start", cx+8
		if cx > width/2 {
			anchor, tx = "end", cx-8
		}
		fmt.Fprintf(&b, `<g data-waiver="%s" data-state="%s"><circle cx="%.1f" cy="%d" r="6" fill="%s"/><text x="%.1f" y="%d" text-anchor="%s" dominant-baseline="middle">%s · %s · %s</text></g>`,
			template.HTMLEscapeString(w.ID), w.State, cx, y, color, tx, y, anchor,
			template.HTMLEscapeString(w.ID), template.HTMLEscapeString(w.Expires), template.HTMLEscapeString(daysLeft(w)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every interpolated string above is escaped
}

// The tests gate's facts, as far as the page reads them.
type testsFacts struct {
	LogDir string `json:"log_dir"`
	Suites []struct {
		Name string `json:"name"`
		Runs []struct {
			Run        int    `json:"run"`
			ExitCode   int    `json:"exit_code"`
			DurationMS int64  `json:"duration_ms"`
			Log        string `json:"log"`
		} `json:"runs"`
		Tests        map[string][]string `json:"tests"`
		TestsOmitted int                 `json:"tests_omitted"`
	} `json:"suites"`
}

// readFacts decodes a check's facts into v; facts are plain JSON values
// whether the result is fresh or was read from a saved document.
func readFacts(r checks.Result, v any) bool {
	if r.Facts == nil {
		return false
	}
	raw, err := json.Marshal(r.Facts)
	return err == nil && json.Unmarshal(raw, v) == nil
}

// fixHTML renders a remedy: prose with its `code` spans marked up, and
// lines that are commands (they start with a program a remedy names) as a
// <pre><code> block, so that they read and copy as commands, not as
// prose with literal backticks.
func fixHTML(text string) template.HTML {
	var b strings.Builder
	for _, part := range remedyParts(text) {
		if part.Command {
			b.WriteString("<pre><code>" + template.HTMLEscapeString(strings.Join(part.Lines, "\n")) + "</code></pre>")
			continue
		}
		b.WriteString(codeSpans(strings.Join(part.Lines, " ")))
		b.WriteString(" ")
	}
	return template.HTML(strings.TrimSpace(b.String()))
}

// commandLine reports whether a remedy's line is a command to run.
func commandLine(l string) bool {
	first, _, _ := strings.Cut(l, " ")
	switch first {
	case "gpg", "trivy", "cosign", "readiness", "go", "git", "docker", "podman", "npm", "npx", "pip", "apt-get", "grype", "make", "curl", "sha256sum", "crane", "skopeo", "pg_ctl", "psql":
		return strings.Contains(l, " ")
	}
	return false
}

// codeSpans escapes prose and marks `x` up as <code>x</code>.
func codeSpans(s string) string {
	parts := strings.Split(s, "`")
	if len(parts)%2 == 0 {
		return template.HTMLEscapeString(s) // unbalanced: leave as written
	}
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 {
			b.WriteString("<code>" + template.HTMLEscapeString(p) + "</code>")
		} else {
			b.WriteString(template.HTMLEscapeString(p))
		}
	}
	return b.String()
}

// shareable is a path as a report read elsewhere can show it: relative to
// the repository when it lies inside, else its last element marked as
// local to the machine that ran (a temporary log directory's absolute
// path says nothing to a reader of a shared page). The text report on the
// terminal that ran keeps the absolute path.
func shareable(doc *evidence.Document, p string) string {
	if p == "" {
		return ""
	}
	if rel := relPath(doc, p); rel != p || !filepath.IsAbs(p) {
		return rel
	}
	return filepath.Base(p) + " (on the machine that ran)"
}

// logDir is where the tests gate kept its logs, when it is one.
func logDir(r checks.Result) string {
	var f testsFacts
	if r.Type != "tests" || !readFacts(r, &f) {
		return ""
	}
	return f.LogDir
}

// testSuites builds the run-by-run matrix: one row per test that did not
// pass in every run, one column per run.
func testSuites(doc *evidence.Document, r checks.Result) []htmlSuite {
	var f testsFacts
	if r.Type != "tests" || !readFacts(r, &f) {
		return nil
	}
	var out []htmlSuite
	for _, s := range f.Suites {
		hs := htmlSuite{Check: r.Check, Name: s.Name, Recorded: len(s.Tests) + s.TestsOmitted}
		omitted := s.TestsOmitted
		for _, run := range s.Runs {
			hs.Runs = append(hs.Runs, htmlRun{N: run.Run, ExitCode: run.ExitCode, Duration: duration(run.DurationMS), Log: shareable(doc, run.Log)})
		}
		names := make([]string, 0, len(s.Tests))
		for n := range s.Tests {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			outs := s.Tests[n]
			row := htmlRow{Name: n}
			seen := map[string]bool{}
			allPass := true
			for i := range hs.Runs {
				o := "none"
				if i < len(outs) && outs[i] != "" {
					o = outs[i]
				}
				seen[o] = true
				allPass = allPass && o == "passed"
				row.Cells = append(row.Cells, o)
			}
			if allPass {
				omitted++
				continue
			}
			row.Flaky = seen["passed"] && (seen["failed"] || seen["error"] || seen["unfinished"])
			hs.Rows = append(hs.Rows, row)
		}
		if omitted > 0 {
			hs.Omitted = count(omitted, "more test", "more tests")
		}
		out = append(out, hs)
	}
	return out
}

func outcomeMark(o string) string {
	switch o {
	case "passed":
		return "✓"
	case "failed", "error", "unfinished":
		return "✗"
	case "skipped", "xfail":
		return "–"
	}
	return "·"
}

// scanFacts is what the page reads of the image-scan gate's facts.
type scanFacts struct {
	Scans []struct {
		Name     string `json:"name"`
		Digest   string `json:"digest"`
		Platform string `json:"platform"`
	} `json:"scans"`
	Trivy struct {
		Version string `json:"version"`
	} `json:"trivy"`
	Counts map[string]int `json:"counts"`
}

// imageChains shows, per scanned image, digest → scan → signature →
// attestations. Signing happens after the verdict, so unless the caller
// says what was signed the last two steps say so.
func imageChains(doc *evidence.Document, releases map[string]Release) []htmlChain {
	var out []htmlChain
	for _, r := range doc.Checks {
		var f scanFacts
		if r.Type != "image-scan" || !readFacts(r, &f) {
			continue
		}
		for _, s := range f.Scans {
			c := htmlChain{Name: s.Name, Digest: s.Digest, Platform: s.Platform, ScanClass: "bad"}
			c.Scan = fmt.Sprintf("%s by trivy %s: %s", r.Status, orDefault(f.Trivy.Version, "?"), countsLine(f.Counts))
			if r.Status == checks.StatusPass && doc.GO() {
				c.ScanClass = "ok"
			}
			rel, ok := releases[s.Digest]
			switch {
			case ok && rel.Signature != "":
				c.Signature, c.SignClass = rel.Signature, "ok"
				if rel.Unverified {
					c.SignClass = "bad"
				}
			case doc.GO():
				c.Signature, c.SignClass = "not signed by this run; `readiness image release` signs after a GO", "none"
			default:
				c.Signature, c.SignClass = "must not be signed: the verdict is NO-GO", "bad"
			}
			c.Attestations, c.AttestClass = rel.Attestations, "none"
			if len(rel.Attestations) > 0 {
				c.AttestClass = "ok"
			}
			out = append(out, c)
		}
	}
	return out
}

func countsLine(c map[string]int) string {
	var parts []string
	for _, s := range checks.Severities {
		if n := c[string(s)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return "no vulnerabilities"
	}
	return strings.Join(parts, ", ")
}
