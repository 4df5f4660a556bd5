package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/pipeline"
	"github.com/readiness-dev/readiness/internal/policy"
	"github.com/readiness-dev/readiness/internal/report"
)

// PolicyOptions is the policy flag group.
type PolicyOptions struct {
	Dirs          []string
	Namespaces    []string
	AllNamespaces bool
}

// AddFlags registers --policy, --namespace and --all-namespaces.
func (o *PolicyOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&o.Dirs, "policy", "p", nil, "extra Rego policy `DIR` (repeatable), added to the embedded default policy")
	cmd.Flags().StringArrayVar(&o.Namespaces, "namespace", nil, "also evaluate deny and warn in Rego package `NAME` (repeatable; package readiness always counts)")
	cmd.Flags().BoolVar(&o.AllNamespaces, "all-namespaces", false, "evaluate deny and warn in every package of the policy set")
}

func (o *PolicyOptions) Options() pipeline.PolicyOptions {
	return pipeline.PolicyOptions{Dirs: o.Dirs, Namespaces: o.Namespaces, AllNamespaces: o.AllNamespaces}
}

// Pipeline is the run pipeline with this App's gates and clock.
func (a *App) Pipeline() *pipeline.Pipeline {
	return &pipeline.Pipeline{Gates: a.Gates(), Now: a.Now}
}

// LoadConfig reads readiness.yaml strictly; with no path it discovers one
// (config.Discover) and says on stderr which file it took unless it is
// ./readiness.yaml.
func (a *App) LoadConfig(path string) (*config.Config, error) {
	if path == "" {
		found, err := config.Discover(".", a.IO.Getenv)
		if err != nil {
			return nil, AsUsage(err)
		}
		path = found
		if path != "readiness.yaml" {
			// Not the obvious file: say which one (the evidence records it too).
			fmt.Fprintf(a.IO.ErrOut, "readiness: using config %s\n", path)
		}
	}
	return a.Pipeline().LoadConfig(path)
}

// OptionalConfig loads path when the user named it (then a missing file is
// an error); otherwise the discovered config, or nil when there is none.
func (a *App) OptionalConfig(path string, named bool) (*config.Config, error) {
	if !named {
		found, err := config.Discover(".", a.IO.Getenv)
		if errors.Is(err, config.ErrNotFound) && a.IO.Getenv(config.EnvConfig) == "" {
			return nil, nil
		}
		if err != nil {
			return nil, AsUsage(err)
		}
		path = found
	}
	return a.LoadConfig(path)
}

// Judge runs the selection through the pipeline with live progress on
// stderr, and returns the judged document.
func (a *App) Judge(ctx context.Context, sel pipeline.Selection) (*evidence.Document, error) {
	progress := report.NewProgress(a.IO.ErrOut, report.ProgressOptions{Live: a.IO.Live(), Color: a.IO.ColorErr(), Now: a.Now})
	sel.Events = progress.Event
	doc, err := a.Pipeline().Run(ctx, sel)
	progress.Stop()
	return doc, err
}

// Execute judges the selection, renders the document, and returns errNOGO
// unless the verdict is GO.
func (a *App) Execute(ctx context.Context, sel pipeline.Selection, ro RenderOptions) error {
	if err := ro.RefuseInputs(sel.Inputs()); err != nil {
		return err
	}
	doc, err := a.Judge(ctx, sel)
	if err != nil {
		return err
	}
	return a.Publish(doc, ro)
}

// Publish renders doc and maps the verdict to an exit code.
func (a *App) Publish(doc *evidence.Document, ro RenderOptions) error {
	if err := a.Render(doc, ro); err != nil {
		return err
	}
	if !doc.GO() {
		return ErrNOGO
	}
	return nil
}

func appendFile(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	werr := write(f)
	return errors.Join(werr, f.Close())
}

// rules gathers every documented rule: the gates' and the policy's own.
func (a *App) rules() map[string]checks.Rule {
	m := map[string]checks.Rule{}
	for _, r := range policy.Rules() {
		m[r.ID] = r
	}
	for _, g := range a.Gates() {
		for _, r := range g.Rules.Rules() {
			m[r.ID] = r
		}
	}
	return m
}
