package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/readiness-dev/readiness/internal/evidence"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string `xml:"name,attr"`
	Tests     int    `xml:"tests,attr"`
	Failures  int    `xml:"failures,attr"`
	Errors    int    `xml:"errors,attr"`
	Skipped   int    `xml:"skipped,attr"`
	Time      string `xml:"time,attr"`
	Timestamp string `xml:"timestamp,attr"`
	// Properties carry the comparison with an earlier run (--compare).
	Properties *junitProperties `xml:"properties,omitempty"`
	Cases      []junitCase      `xml:"testcase"`
}

type junitProperties struct {
	Property []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// writeJUnit renders one testcase per check; blocking findings are its
// failure, an errored check its error.
func writeJUnit(w io.Writer, doc *evidence.Document, opts Options) error {
	suite := junitSuite{Name: "readiness", Timestamp: doc.GeneratedAt.Format("2006-01-02T15:04:05Z")}
	var totalMS int64
	byCheck := map[string][]blocker{}
	var global []blocker
	blocks := map[string]bool{}
	all := causes(doc, opts.Rules)
	tr := newTrend(doc, all, opts)
	if tr != nil {
		props := []junitProperty{{"readiness.since", tr.Since}, {"readiness.trend", tr.Summary()}}
		for i, c := range all {
			props = append(props, junitProperty{"readiness." + machine(tr.of(i)), c.Title})
		}
		for _, f := range tr.Fixed {
			props = append(props, junitProperty{"readiness.fixed", "[" + f.Severity + "] " + f.Title})
		}
		suite.Properties = &junitProperties{Property: props}
	}
	for _, b := range blockers(doc) {
		blocks[b.Check+"\x00"+b.Message.Finding] = true
		if b.Check == "" {
			global = append(global, b)
			continue
		}
		byCheck[b.Check] = append(byCheck[b.Check], b)
	}
	vexByCheck := map[string][]evidence.CheckSuppressed{}
	for _, x := range evidence.VEXSuppressed(doc) {
		vexByCheck[x.Check] = append(vexByCheck[x.Check], x)
	}
	for _, r := range doc.Checks {
		c := junitCase{Name: r.Check, Classname: "readiness." + r.Type, Time: seconds(r.DurationMS)}
		totalMS += r.DurationMS
		// The case's outcome is the gate's judged status: a check whose
		// findings do not block passes (warn), as it does in the verdict.
		switch doc.Gate(r.Check).Status {
		case evidence.GateError:
			c.Error = &junitProblem{Message: r.Error, Type: "CHECK-ERROR", Body: r.Error}
			suite.Errors++
		case evidence.GateFail:
			bs := byCheck[r.Check]
			var body strings.Builder
			n := 0
			for i, cs := range all {
				if !contains(cs.Checks, r.Check) {
					continue
				}
				n++
				writeCauseLines(&body, cs, tr.of(i))
			}
			msg := fmt.Sprintf("%d blocking %s", len(bs), plural(len(bs), "finding", "findings"))
			if n != len(bs) {
				msg += fmt.Sprintf(" (%d %s)", n, plural(n, "cause", "causes"))
			}
			c.Failure = &junitProblem{Message: msg, Type: "NO-GO", Body: body.String()}
			suite.Failures++
		case evidence.GateSkipped:
			c.Skipped = &junitProblem{Message: r.Summary}
			suite.Skipped++
		}
		// Waived findings keep their waiver's reason, owner and expiry,
		// as in every other format.
		out := []string{}
		if r.Summary != "" {
			out = append(out, r.Summary)
		}
		for _, f := range r.Findings {
			switch {
			case f.WaivedBy != "":
				out = append(out, fmt.Sprintf("waived [%s] %s: %s; %s", f.Severity, f.ID, f.Message, waiverNote(doc, f.WaivedBy)))
			case !blocks[r.Check+"\x00"+f.ID]:
				// warn: found, and the policy does not block on it.
				out = append(out, fmt.Sprintf("not blocking [%s] %s: %s", f.Severity, f.ID, f.Message))
			}
		}
		for _, x := range vexByCheck[r.Check] {
			out = append(out, fmt.Sprintf("suppressed by VEX %s: %s", vexWhat(x), vexNote(doc, x)))
		}
		c.SystemOut = strings.Join(out, "\n")
		suite.Cases = append(suite.Cases, c)
	}
	// A partial run's left-out checks are skipped cases, so a CI test view
	// does not show a narrowed run as complete.
	for _, c := range doc.NotRun {
		suite.Cases = append(suite.Cases, junitCase{Name: c.Name, Classname: "readiness." + c.Type, Time: "0.000",
			Skipped: &junitProblem{Message: "not run: left out of this partial run" + doc.PartialNote()}})
		suite.Skipped++
	}
	if len(global) > 0 {
		var body strings.Builder
		for i, cs := range all {
			if len(cs.Checks) == 0 {
				writeCauseLines(&body, cs, tr.of(i))
			}
		}
		suite.Cases = append(suite.Cases, junitCase{Name: "policy", Classname: "readiness.policy", Time: "0.000",
			Failure: &junitProblem{Message: fmt.Sprintf("%d blocking", len(global)), Type: "NO-GO", Body: body.String()}})
		suite.Failures++
	}
	suite.Tests = len(suite.Cases)
	suite.Time = seconds(totalMS)
	suites := junitSuites{Name: "readiness" + doc.PartialNote(), Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Skipped: suite.Skipped, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(suites); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// writeCauseLines writes one cause: what, each place when there are
// several, and the fix; with its state against an earlier run, if any.
func writeCauseLines(body *strings.Builder, c cause, trend string) {
	if trend != "" {
		trend = "(" + trend + ") "
	}
	fmt.Fprintf(body, "[%s] %s%s\n", orDefault(c.Severity, "blocking"), trend, c.Title)
	if len(c.Members) > 1 {
		for _, o := range c.Places {
			fmt.Fprintf(body, "  at %s\n", o)
		}
	}
	if c.Fix != "" {
		fmt.Fprintf(body, "  fix: %s\n", oneLine(c.Fix))
	}
}

func seconds(ms int64) string { return fmt.Sprintf("%.3f", float64(ms)/1000) }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
