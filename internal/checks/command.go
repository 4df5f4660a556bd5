package checks

import "github.com/readiness-dev/readiness/internal/config"

// Command describes a gate's own command, `readiness GROUP VERB` (`key
// verify`, `workflow lint`, `tests run`), which runs that gate alone and
// prints the same verdict as `readiness check --only`. It is data: the
// command layer builds the cobra command from it, and every flag and
// argument becomes a `with:` setting laid over the check's configuration
// before Gate.New, so the gate has one input whoever wrote it.
type Command struct {
	// Group and GroupShort are the parent command ("key").
	Group      string
	GroupShort string
	// Use, Short, Long and Example are the command's help, as in cobra.
	Use, Short, Long, Example string
	// Flags set `with:` keys.
	Flags []Flag
	// MaxArgs is how many positional arguments the command takes; Args
	// turns them into `with:` settings. Paths in them are the user's,
	// relative to the working directory.
	MaxArgs int
	Args    func(args []string) (map[string]any, error)
	// ArgName names the positional argument in errors about it (KEY_FILE).
	ArgName string
	// ConfigFlagUsage is the --config flag's help.
	ConfigFlagUsage string
	// AllOfType runs every configured check of the gate's type instead of
	// the one chosen with --check, and needs a readiness.yaml.
	AllOfType bool
	// Select, for AllOfType, names the checks the settings pick (`tests
	// run --suite go` runs only the checks that hold that suite); nil runs
	// them all. An error is a usage error.
	Select func(env Env, specs []config.CheckSpec, set map[string]any) ([]string, error)
}

// FlagKind says how a flag's text becomes a `with:` value.
type FlagKind string

const (
	FlagString   FlagKind = "string"
	FlagStrings  FlagKind = "strings"  // repeatable
	FlagPath     FlagKind = "path"     // made absolute: the user's, relative to the working directory
	FlagBool     FlagKind = "bool"     // true unless given =false
	FlagInt      FlagKind = "int"      // a whole number
	FlagDuration FlagKind = "duration" // 90s, 5m, 30d
	FlagBytes    FlagKind = "bytes"    // 1048576, 512KiB, 1MiB
)

// Flag is one flag of a gate command.
type Flag struct {
	Name  string
	Key   string // the `with:` key it sets
	Kind  FlagKind
	Usage string
	// Default is shown in help for a bool flag (true or false).
	Default bool
	// Literal is a value of a path flag kept as written ("none").
	Literal string
}
