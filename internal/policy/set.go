package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/readiness-dev/readiness/internal/buildinfo"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// Options choose the policy set: the embedded default policy, the .rego
// files in Dirs (directories or files), and the packages whose deny and
// warn count besides `readiness`.
type Options struct {
	Dirs []string
	// Namespaces are extra packages to evaluate, as conftest's --namespace.
	Namespaces []string
	// AllNamespaces evaluates every package that declares deny or warn, as
	// conftest's --all-namespaces.
	AllNamespaces bool
}

// LoadSet compiles the policy set of opts. A user policy whose package
// declares deny or warn but will never be evaluated is an error naming
// file:line: a rule that is silently ignored could let a NO-GO pass.
func LoadSet(ctx context.Context, opts Options) (*Engine, error) {
	mods, err := embedded(false)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, dir := range opts.Dirs {
		user, err := ReadDir(dir, false)
		if err != nil {
			return nil, err
		}
		for _, m := range user {
			// The same file reached twice (a recorded path and a directory
			// holding it) is one module.
			if sum := digest(m.Src); !seen[sum] {
				seen[sum] = true
				mods = append(mods, m)
			}
		}
	}
	return compile(ctx, mods, opts)
}

var namespaceRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
})

// evaluated decides which packages besides readiness are evaluated, and
// refuses a user module whose deny or warn would be ignored.
func evaluated(mods []Module, parsed map[string]*ast.Module, opts Options) ([]string, error) {
	declares := map[string]bool{} // packages that declare deny or warn
	for _, m := range mods {
		if pkg, ok := judging(parsed[m.Name]); ok {
			declares[pkg] = true
		}
	}
	for _, m := range mods {
		for _, r := range parsed[m.Name].Rules {
			if r.Head.Name.String() == "violation" || (len(r.Head.Ref()) > 0 && r.Head.Ref()[0].Value.String() == "violation") {
				return nil, fmt.Errorf("policy %s:%d: readiness reads deny and warn, not violation; rename the rule to deny", m.Name, r.Location.Row)
			}
		}
	}
	var out []string
	for _, ns := range opts.Namespaces {
		if !namespaceRE().MatchString(ns) {
			return nil, fmt.Errorf("policy namespace %q is not a Rego package name (e.g. main or readiness.extra)", ns)
		}
		if !declares[ns] {
			return nil, fmt.Errorf("policy namespace %s: no loaded policy declares deny or warn in package %s", ns, ns)
		}
		if ns != "readiness" && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	if opts.AllNamespaces {
		for ns := range declares {
			if ns != "readiness" && !slices.Contains(out, ns) {
				out = append(out, ns)
			}
		}
	}
	sort.Strings(out)
	for _, m := range mods {
		pkg, ok := judging(parsed[m.Name])
		if !ok || pkg == "readiness" || slices.Contains(out, pkg) {
			continue
		}
		line := parsed[m.Name].Package.Location.Row
		return nil, fmt.Errorf("policy %s:%d: package %s is never evaluated, so its deny and warn rules would be ignored; use `package readiness`, or evaluate it with --namespace %s (policy.namespaces in readiness.yaml) or --all-namespaces", m.Name, line, pkg, pkg)
	}
	return out, nil
}

// judging returns a module's package when it declares deny or warn.
func judging(m *ast.Module) (string, bool) {
	pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
	for _, r := range m.Rules {
		switch r.Head.Name.String() {
		case "deny", "warn":
			return pkg, true
		}
		if ref := r.Head.Ref(); len(ref) > 0 {
			if n := ref[0].Value.String(); n == "deny" || n == "warn" {
				return pkg, true
			}
		}
	}
	return pkg, false
}

// query binds deny_N and warn_N for readiness (N=0) and each namespace.
// readiness's are required (undefined means deny); a namespace's may be
// absent when its package declares only one of them.
func query(namespaces []string) string {
	q := []string{binding("deny", 0) + " := data.readiness.deny", binding("warn", 0) + " := data.readiness.warn"}
	for i, ns := range namespaces {
		for _, rule := range []string{"deny", "warn"} {
			q = append(q, fmt.Sprintf("%s := object.get(data.%s, %q, set())", binding(rule, i+1), ns, rule))
		}
	}
	return strings.Join(q, "; ")
}

func binding(rule string, i int) string { return fmt.Sprintf("%s_%d", rule, i) }

func digest(src string) string {
	sum := sha256.Sum256([]byte(src))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// record describes the policy set for the evidence document.
func record(mods []Module, namespaces []string) evidence.PolicySet {
	set := evidence.PolicySet{Embedded: evidence.EmbeddedPolicy{Version: buildinfo.Get().Version}, Modules: []evidence.PolicyModule{}, Namespaces: namespaces}
	h := sha256.New()
	for _, m := range mods {
		if m.embedded {
			fmt.Fprintf(h, "%s\x00%s\x00", m.Name, m.Src)
			continue
		}
		set.Modules = append(set.Modules, evidence.PolicyModule{Path: m.Name, SHA256: digest(m.Src)})
	}
	set.Embedded.SHA256 = "sha256:" + hex.EncodeToString(h.Sum(nil))
	sort.Slice(set.Modules, func(i, j int) bool { return set.Modules[i].Path < set.Modules[j].Path })
	return set
}

// Set is the policy set this engine judges with.
func (e *Engine) Set() evidence.PolicySet { return e.set }

// Missing lists what of the recorded set this engine lacks: the embedded
// policy when it differs, each module (by sha256) not loaded, each
// namespace not evaluated. Judging with fewer rules than the document
// records could turn its NO-GO into GO.
func (e *Engine) Missing(rec evidence.PolicySet) []string {
	var out []string
	if rec.Embedded.SHA256 != e.set.Embedded.SHA256 {
		out = append(out, fmt.Sprintf("the embedded default policy of readiness %s (%s; this readiness %s embeds %s)", rec.Embedded.Version, short(rec.Embedded.SHA256), e.set.Embedded.Version, short(e.set.Embedded.SHA256)))
	}
	for _, m := range rec.Modules {
		if !slices.ContainsFunc(e.set.Modules, func(h evidence.PolicyModule) bool { return h.SHA256 == m.SHA256 }) {
			out = append(out, fmt.Sprintf("policy %s (%s)", m.Path, short(m.SHA256)))
		}
	}
	for _, ns := range rec.Namespaces {
		if !slices.Contains(e.namespaces, ns) {
			out = append(out, "namespace "+ns)
		}
	}
	return out
}

func short(sum string) string {
	if len(sum) > len("sha256:")+12 {
		return sum[:len("sha256:")+12]
	}
	return sum
}
