// Package buildinfo holds the version stamped into the binary at release
// (-ldflags "-X github.com/readiness-dev/readiness/internal/buildinfo.Version=…").
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set by ldflags at release.
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// Info describes this build.
type Info struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Date      string `json:"date,omitempty"`
	GoVersion string `json:"go_version"`
}

// Get returns this build's info, falling back to the module's VCS stamp
// for `go install` builds that had no ldflags.
func Get() Info {
	info := Info{Name: "readiness", Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && info.Commit == "":
				info.Commit = s.Value
			case s.Key == "vcs.time" && info.Date == "":
				info.Date = s.Value
			}
		}
	}
	return info
}
