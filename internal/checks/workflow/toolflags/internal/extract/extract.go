// Package extract derives which command-line flags take a value from the
// tools' own definitions: cosign's cobra commands, trivy's Flag[T]
// declarations and grype's pflag calls. It is used by the generator and
// by the test that keeps the checked-in table true; the gate itself only
// reads the generated table.
package extract

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Versions of the tools the table is generated from.
const (
	CosignModule = "github.com/sigstore/cosign/v2@v2.6.5"
	TrivyModule  = "github.com/aquasecurity/trivy@v0.74.0"
	GrypeModule  = "github.com/anchore/grype@v0.121.3"
)

// Cosign reads cosign's command options (cmd/cosign/cli/options, the
// AddFlags methods its cobra commands are built from) and returns the
// flags defined with a non-bool pflag definer.
func Cosign(moduleDir string) ([]string, error) {
	return pflagValueFlags(filepath.Join(moduleDir, "cmd", "cosign", "cli", "options"))
}

// Trivy reads trivy's pkg/flag sources and returns the flags declared as
// Flag[T] with T not bool.
func Trivy(moduleDir string) ([]string, error) {
	var names []string
	err := eachFile(filepath.Join(moduleDir, "pkg", "flag"), func(f *ast.File) {
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			idx, ok := lit.Type.(*ast.IndexExpr)
			if !ok {
				return true
			}
			if id, ok := idx.X.(*ast.Ident); !ok || id.Name != "Flag" {
				return true
			}
			if id, ok := idx.Index.(*ast.Ident); ok && id.Name == "bool" {
				return true
			}
			for _, e := range lit.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key, _ := kv.Key.(*ast.Ident)
				val := stringLit(kv.Value)
				if key == nil || val == "" {
					continue
				}
				switch key.Name {
				case "Name":
					names = append(names, "--"+val)
				case "Shorthand":
					names = append(names, "-"+val)
				}
			}
			return true
		})
	})
	return sorted(names), err
}

// pflagCall matches pflag's definers: StringVarP, StringArrayVar, IntP …
var pflagCall = regexp.MustCompile(`^(String|StringArray|StringSlice|StringToString|Int|Int32|Int64|IntSlice|Uint|Float64|Duration|Bool|Count|)(Var)?(P)?$`)

// Grype reads grype's cmd/grype/cli sources and returns the flags defined
// with a non-bool pflag definer, plus the root flags that anchore/clio adds
// to every anchore tool (-c/--config, --profile).
func Grype(moduleDir string) ([]string, error) {
	names, err := pflagValueFlags(filepath.Join(moduleDir, "cmd", "grype", "cli"))
	return sorted(append(names, "--config", "-c", "--profile")), err
}

// pflagValueFlags collects the flags a directory's sources define with a
// pflag definer that is not Bool or Count.
func pflagValueFlags(dir string) ([]string, error) {
	var names []string
	err := eachFile(dir, func(f *ast.File) {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			m := pflagCall.FindStringSubmatch(sel.Sel.Name)
			// Var/VarP take a pflag.Value: a value flag (cosign's
			// --registry-referrers-mode).
			if m == nil || m[1] == "Bool" || m[1] == "Count" || m[1] == "" && m[2] == "" {
				return true
			}
			i := 0
			if m[2] == "Var" {
				i = 1 // the pointer comes first
			}
			if i >= len(call.Args) {
				return true
			}
			if name := stringLit(call.Args[i]); name != "" {
				names = append(names, "--"+name)
				if m[3] == "P" && i+1 < len(call.Args) {
					if s := stringLit(call.Args[i+1]); s != "" {
						names = append(names, "-"+s)
					}
				}
			}
			return true
		})
	})
	return sorted(names), err
}

func eachFile(dir string, fn func(*ast.File)) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		fn(f)
		return nil
	})
}

func stringLit(e ast.Expr) string {
	b, ok := e.(*ast.BasicLit)
	if !ok || b.Kind != token.STRING {
		return ""
	}
	s, err := strconv.Unquote(b.Value)
	if err != nil {
		return ""
	}
	return s
}

func sorted(xs []string) []string {
	sort.Strings(xs)
	return slices.Compact(xs)
}
