// Command readiness is the release-readiness gatekeeper. See README.md.
package main

import (
	"os"

	"github.com/readiness-dev/readiness/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.System()))
}
