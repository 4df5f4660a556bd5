package checkstest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/checks"
)

// RulesNamed proves that every rule and case a gate's source names in a
// RuleBook call (book.Finding("RULE", …), book.Case("RULE", "case", …)) is
// in its rules table, so that no finding reaches a user as the book's
// "not in the rules table" critical. It reads the non-test Go files of dir
// (the gate's package) and resolves string constants declared there. It
// also fails when the source names no rule at all, so a renamed method
// cannot make it vacuous.
func RulesNamed(t *testing.T, dir string, book *checks.RuleBook) {
	t.Helper()
	if err := book.Err(); err != nil {
		t.Fatalf("rules table: %v", err)
	}
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var parsed []*ast.File
	consts := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, id := range vs.Names {
				if i < len(vs.Values) {
					if s, ok := stringLit(vs.Values[i], nil); ok {
						consts[id.Name] = s
					}
				}
			}
			return true
		})
	}
	named := 0
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Finding" && sel.Sel.Name != "Case") || len(call.Args) < 4 {
				return true
			}
			rule, ok := stringLit(call.Args[0], consts)
			if !ok {
				return true // a rule chosen at run time: the gate's own tests cover it
			}
			named++
			pos := fset.Position(call.Pos())
			r, found := book.Rule(rule)
			if !found {
				t.Errorf("%s: rule %s is not in the rules table", pos, rule)
				return true
			}
			if sel.Sel.Name == "Case" {
				if cas, ok := stringLit(call.Args[1], consts); ok && cas != "" {
					if _, found := r.Cases[cas]; !found {
						t.Errorf("%s: rule %s has no case %q in the rules table (cases: %v)", pos, rule, cas, r.CaseNames())
					}
				}
			}
			return true
		})
	}
	if named == 0 {
		t.Errorf("%s names no rule in a RuleBook call", dir)
	}
}

func stringLit(e ast.Expr, consts map[string]string) (string, bool) {
	switch v := e.(type) {
	case *ast.BasicLit:
		if v.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(v.Value)
		return s, err == nil
	case *ast.Ident:
		s, ok := consts[v.Name]
		return s, ok
	}
	return "", false
}
