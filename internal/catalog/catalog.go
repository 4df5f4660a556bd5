// Package catalog is the explicit list of gates this build implements. There
// is no init() registration: adding a gate means adding a line here.
package catalog

import (
	"sort"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/imagescan"
	"github.com/readiness-dev/readiness/internal/checks/ledgersuite"
	"github.com/readiness-dev/readiness/internal/checks/securitykey"
	"github.com/readiness-dev/readiness/internal/checks/testsuite"
	"github.com/readiness-dev/readiness/internal/checks/workflow"
)

// Gates returns every gate, sorted by type.
func Gates() []checks.Gate {
	gates := []checks.Gate{
		// one line per gate package, e.g. securitykey.Gate(),
		securitykey.Gate(),
		ledgersuite.Gate(),
		imagescan.Gate(),
		testsuite.Gate(),
		workflow.Gate(),
	}
	sort.Slice(gates, func(i, j int) bool { return gates[i].Type < gates[j].Type })
	return gates
}

// Types lists the gate types.
func Types(gates []checks.Gate) []string { return checks.GateTypes(gates) }

// Find returns the gate of the given type.
func Find(gates []checks.Gate, typ string) (checks.Gate, bool) { return checks.FindGate(gates, typ) }
