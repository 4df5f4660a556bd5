// Package checkstest provides a configurable test-only gate ("test") whose
// behaviour is set in readiness.yaml: pass, fail with findings, error,
// panic, sleep, hang, or ignore cancellation. It is never in the catalog;
// tests put it into an App by hand.
package checkstest

import (
	"context"
	"errors"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
)

// Options is the test gate's `with:` block.
type Options struct {
	// Behaviour: pass, fail, error, panic, hang (until cancelled), stubborn
	// (ignores cancellation), skip.
	Behaviour string          `yaml:"behaviour"`
	Sleep     config.Duration `yaml:"sleep"`
	Findings  []FindingSpec   `yaml:"findings"`
	Summary   string          `yaml:"summary"`
}

// FindingSpec configures one finding.
type FindingSpec struct {
	Rule     string `yaml:"rule"`
	ID       string `yaml:"id"`
	Severity string `yaml:"severity"`
	Message  string `yaml:"message"`
	Path     string `yaml:"path"`
	Line     int    `yaml:"line"`
}

const testRules = `
- id: TEST-FINDING
  title: A test finding
  severity: high
  description: Raised by the test gate.
  remediation: Change the test gate's configuration.
`

// Gate returns the test gate.
func Gate() checks.Gate {
	return checks.Gate{
		Type:    "test",
		Summary: "test-only gate with configurable behaviour",
		Rules:   checks.NewRuleBook([]byte(testRules)),
		New: func(env checks.Env, spec config.CheckSpec) (checks.Check, error) {
			var o Options
			if err := config.DecodeStrict(env.ConfigFile, &spec.With, &o); err != nil {
				return nil, err
			}
			return New(o), nil
		},
	}
}

// New builds a test check.
func New(o Options) checks.Check {
	return checks.CheckFunc(func(ctx context.Context) (checks.Result, error) {
		if o.Sleep > 0 {
			if o.Behaviour == "stubborn" {
				time.Sleep(o.Sleep.D())
			} else {
				select {
				case <-time.After(o.Sleep.D()):
				case <-ctx.Done():
					return checks.Result{}, ctx.Err()
				}
			}
		}
		res := checks.Result{Status: checks.StatusPass, Summary: o.Summary}
		for _, f := range o.Findings {
			fd := checks.Finding{Rule: f.Rule, ID: f.ID, Severity: checks.Severity(f.Severity), Message: f.Message}
			if fd.Rule == "" {
				fd.Rule = "TEST-FINDING"
			}
			if f.Path != "" {
				fd.Location = &checks.Location{Path: f.Path, Line: f.Line}
			}
			res.Findings = append(res.Findings, fd)
		}
		switch o.Behaviour {
		case "", "pass", "stubborn":
		case "fail":
			res.Status = checks.StatusFail
		case "skip":
			res.Status = checks.StatusSkipped
		case "error":
			return res, errors.New("test gate was told to fail")
		case "panic":
			panic("test gate was told to panic")
		case "hang":
			<-ctx.Done()
			return res, ctx.Err()
		default:
			return res, errors.New("unknown behaviour " + o.Behaviour)
		}
		return res, nil
	})
}
