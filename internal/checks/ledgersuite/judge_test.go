package ledgersuite

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/ledgerproto"
)

// A failed wait carries the owner's failure in its own field, which
// failure/delivered judges; no other reply does.
func TestFromReplyFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  *ledgerproto.Error
		want string
	}{
		{"failed", &ledgerproto.Error{Kind: ledgerproto.ErrFailed, Message: "generation by A failed: upstream 503"}, "generation by A failed: upstream 503"},
		{"timeout", &ledgerproto.Error{Kind: ledgerproto.ErrTimeout, Message: "upstream 503"}, ""},
		{"store", &ledgerproto.Error{Kind: ledgerproto.ErrStore, Message: "upstream 503"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fromReply("wait", "k", ledgerproto.Reply{ID: 1, Error: tc.err})
			if r.Failure != tc.want {
				t.Errorf("Failure = %q, want %q", r.Failure, tc.want)
			}
		})
	}
}

// A driver's skipped scenario is a finding when, and only when, the
// driver could not run it; a required one has its own, graver rule. The
// wording of the skip reason plays no part.
func TestJudgeDriverNotApplicable(t *testing.T) {
	type got struct {
		ID       string
		Severity checks.Severity
		Required any
	}
	for _, tc := range []struct {
		name string
		sc   ScenarioReport
		want []got
	}{
		{"optional", ScenarioReport{Scenario: "empty-output", Rule: RuleEmptyOutput, Mode: InProcess, Runs: 1, Skipped: 1, NotApplicable: 1, Reason: "the driver lacks forget"},
			[]got{{RuleNotApplicable + "/empty-output/inproc", checks.SeverityMedium, false}}},
		{"required", ScenarioReport{Scenario: requiredScenarios[0], Rule: RuleLostOutput, Mode: Processes, Runs: 1, Skipped: 1, NotApplicable: 1, Reason: "the driver lacks recreate"},
			[]got{{RuleRequiredNotApplicable + "/" + requiredScenarios[0] + "/procs", checks.SeverityHigh, true}}},
		{"skipped for another reason", ScenarioReport{Scenario: "empty-output", Rule: RuleEmptyOutput, Mode: InProcess, Runs: 1, Skipped: 1, Reason: "not applicable: worded like one"},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			passed := ScenarioReport{Scenario: "late-write", Rule: RuleLateWriteLost, Mode: InProcess, Runs: 1, Passed: 1}
			rep := &Report{Driver: "driver", Repeat: 1, LedgerDriver: &DriverInfo{Command: []string{"d"}}, Scenarios: []ScenarioReport{tc.sc, passed}}
			res := Evaluate(rep)
			var gs []got
			for _, f := range res.Findings {
				gs = append(gs, got{f.ID, f.Severity, f.Properties["required"]})
				if f.Remediation == "" {
					t.Errorf("%s: no remediation", f.ID)
				}
			}
			if diff := cmp.Diff(tc.want, gs); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestJudgeTimeout: a timeout's structured fields are judged, with a
// driver's own "waited" allowed to fall short of the deadline by a tenth
// (its clock starts after the deadline was set), never more.
func TestJudgeTimeout(t *testing.T) {
	d := 300 * time.Millisecond
	for _, tc := range []struct {
		name   string
		r      Response
		wantOK bool
	}{
		{"waited the deadline", Response{Timeout: &TimeoutFacts{Key: "k", State: "running", WaitedMS: 301}}, true},
		{"clock started 6 ms late", Response{Timeout: &TimeoutFacts{Key: "k", State: "running", WaitedMS: 294}}, true},
		{"a tenth short", Response{Timeout: &TimeoutFacts{Key: "k", State: "running", WaitedMS: 270}}, true},
		{"more than a tenth short", Response{Timeout: &TimeoutFacts{Key: "k", State: "running", WaitedMS: 269}}, false},
		{"nonsense", Response{Timeout: &TimeoutFacts{Key: "k", State: "running", WaitedMS: 0}}, false},
		{"no facts", Response{Err: "timed out"}, false},
		{"another key", Response{Timeout: &TimeoutFacts{Key: "x", State: "running", WaitedMS: 300}}, false},
		{"another state", Response{Timeout: &TimeoutFacts{Key: "k", State: "absent", WaitedMS: 300}}, false},
	} {
		err := judgeTimeout(tc.r, "k", "running", d)
		if (err == nil) != tc.wantOK {
			t.Errorf("%s: judgeTimeout = %v, want ok=%v", tc.name, err, tc.wantOK)
		}
	}
}
