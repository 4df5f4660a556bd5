// Package policies embeds the default Rego policy, its unit tests, and the
// documentation of the rules the policy itself reports.
package policies

import "embed"

// FS holds readiness.rego, readiness_test.rego and rules.yaml.
//
//go:embed *.rego rules.yaml
var FS embed.FS
