// Command readiness is the release-readiness gatekeeper. See README.md.
package main

import (
	"os"

	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/cli/root"
)

func main() {
	os.Exit(root.Main(os.Args[1:], cli.System()))
}
