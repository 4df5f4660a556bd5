package testsuite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/procexec"
)

// Runner starts a process; procexec.Run unless a test injects a fault.
type Runner func(ctx context.Context, c procexec.Cmd) (procexec.Result, error)

// Check runs the configured suites.
type Check struct {
	name       string
	suites     []suite
	logDir     string
	configFile string
	baseDir    string
	now        func() time.Time
	exec       Runner
}

type suite struct {
	SuiteOptions
}

// WithRunner replaces the process runner (tests provoke faults with it).
func (c *Check) WithRunner(r Runner) *Check {
	c.exec = r
	return c
}

// runRecord is what one run of one suite left.
type runRecord struct {
	N        int
	ExitCode int
	Duration time.Duration
	TimedOut bool
	// Cause is the deadline that fired when it was not the suite's own
	// (the check's timeout, the run's --timeout, an interrupt).
	Cause string
	// Died is set when the process was killed by a signal we did not send.
	Died    string
	Log     string
	Reports []string
	// Stale lists report files that matched report.path but were not
	// written by this run.
	Stale     []string
	Missing   bool
	ReportErr error
	Report    Report
	Tail      string
}

// usable reports whether the run's report was read without trouble.
func (r *runRecord) usable() bool { return !r.Missing && r.ReportErr == nil && !r.TimedOut }

// observed reports whether the run says anything about individual tests:
// a clean report, or a damaged one that still held tests.
func (r *runRecord) observed() bool {
	return (!r.Missing && r.ReportErr == nil) || len(r.Report.Tests) > 0
}

type suiteRun struct {
	suite
	check    string
	baseDir  string // the config's directory
	runs     []runRecord
	notRun   int
	startErr error
}

// Run runs every suite in order, each run after the other, and reports.
func (c *Check) Run(ctx context.Context) (checks.Result, error) {
	logDir, err := c.prepareLogDir()
	if err != nil {
		return checks.Result{}, err
	}
	res := checks.Result{Findings: []checks.Finding{}}
	var runs []*suiteRun
	var errs []string
	finish := func() {
		res.Findings = []checks.Finding{}
		for _, sr := range runs {
			res.Findings = append(res.Findings, analyze(sr, c.configFile)...)
		}
		if c.logDir == "" && len(res.Findings) == 0 && len(errs) == 0 && ctx.Err() == nil {
			// A clean run's logs in a temporary directory say nothing a
			// report needs: remove them rather than leave a directory per
			// run behind. A configured log_dir, or any failure, keeps them.
			if os.RemoveAll(logDir) == nil {
				logDir = ""
				for _, sr := range runs {
					for i := range sr.runs {
						sr.runs[i].Log = ""
					}
				}
			}
		}
		res.Facts = factsOf(logDir, runs)
		res.Summary = summarize(runs)
		switch {
		case len(errs) > 0:
			res.Status = checks.StatusError
			res.Error = strings.Join(errs, "; ")
		case len(res.Findings) > 0:
			res.Status = checks.StatusFail
		default:
			res.Status = checks.StatusPass
		}
	}
	for _, s := range c.suites {
		sr := &suiteRun{suite: s, check: c.checkName(), baseDir: c.baseDir}
		runs = append(runs, sr)
		c.runSuite(ctx, sr, logDir)
		if ctx.Err() != nil {
			finish()
			return res, ctx.Err()
		}
		if sr.startErr != nil {
			errs = append(errs, fmt.Sprintf("suite %s: %v", s.Name, sr.startErr))
		}
	}
	finish()
	return res, nil
}

func (c *Check) checkName() string {
	if c.name == "" {
		return Type
	}
	return c.name
}

func (c *Check) prepareLogDir() (string, error) {
	if c.logDir == "" {
		d, err := os.MkdirTemp("", "readiness-tests-")
		if err != nil {
			return "", fmt.Errorf("create log directory: %w", err)
		}
		return d, nil
	}
	if err := os.MkdirAll(c.logDir, 0o755); err != nil {
		return "", fmt.Errorf("create log directory: %w", err)
	}
	return c.logDir, nil
}

func (c *Check) runSuite(ctx context.Context, sr *suiteRun, logDir string) {
	if st, err := os.Stat(sr.Dir); err != nil || !st.IsDir() {
		sr.startErr = fmt.Errorf("working directory %s does not exist", sr.Dir)
		return
	}
	for n := 1; n <= sr.Repeat; n++ {
		rec, err := c.runOnce(ctx, sr, n, logDir)
		if err != nil {
			sr.startErr = err
			return
		}
		sr.runs = append(sr.runs, rec)
		if ctx.Err() != nil {
			return
		}
		if rec.TimedOut {
			// The next run would most likely hang the same way.
			sr.notRun = sr.Repeat - n
			return
		}
	}
}

func (c *Check) runOnce(ctx context.Context, sr *suiteRun, n int, logDir string) (runRecord, error) {
	rec := runRecord{N: n}
	var before map[string]fileStamp
	if sr.Report.Path != "" {
		before = snapshot(reportFiles(sr.Report.Path, sr.Report.Format))
	}
	rec.Log = filepath.Join(logDir, fmt.Sprintf("%s.%s.run%d.log", sr.check, sr.Name, n))
	logFile, err := os.Create(rec.Log)
	if err != nil {
		return rec, fmt.Errorf("create log file: %w", err)
	}
	out := &outputWriter{w: logFile}

	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if sr.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, sr.Timeout.D())
	}
	env := make([]string, 0, len(sr.Env)+2)
	keys := make([]string, 0, len(sr.Env))
	for k := range sr.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+sr.Env[k])
	}
	env = append(env, "READINESS_TESTS_SUITE="+sr.Name, "READINESS_TESTS_RUN="+strconv.Itoa(n))
	run := c.exec
	if run == nil {
		run = procexec.Run
	}
	start := time.Now()
	pres, err := run(runCtx, procexec.Cmd{
		Path: sr.Command[0], Args: sr.Command[1:], Dir: sr.Dir, Env: env,
		Stdout: out, Stderr: out,
	})
	// Read the deadline before cancel(), which would make Err non-nil.
	runTimedOut := runCtx.Err() != nil
	cancel()
	rec.Duration = time.Since(start)
	rec.ExitCode = pres.ExitCode
	if cerr := logFile.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("write log %s: %w", rec.Log, cerr)
	}
	switch {
	case errors.Is(err, procexec.ErrNotFound):
		return rec, fmt.Errorf("command %q not found (install it, or fix the suite's command in readiness.yaml)", sr.Command[0])
	case ctx.Err() != nil:
		// Interrupted or out of the check's or the run's time: keep what
		// there is, and which deadline it was.
		rec.TimedOut = true
		if cause := context.Cause(ctx); cause != nil {
			rec.Cause = cause.Error()
		}
	case runTimedOut:
		rec.TimedOut = true
	case errors.Is(err, procexec.ErrDied):
		rec.Died = err.Error()
	case err != nil:
		return rec, err
	}
	c.readReport(sr, &rec, pres.Stdout, before)
	rec.Tail = tail(out.tail(), maxOutputLines)
	if sr.Report.Format == FormatGoTest && sr.Report.Path == "" {
		// The raw stream is JSON; show the text go test would have printed.
		rec.Tail = tail(rec.Report.Text+string(pres.Stderr), maxOutputLines)
	}
	return rec, nil
}

// readReport finds and parses the run's report.
func (c *Check) readReport(sr *suiteRun, rec *runRecord, stdout []byte, before map[string]fileStamp) {
	parse := parserFor(sr.Report.Format)
	limit := int64(sr.Report.MaxMB) << 20
	if sr.Report.Path == "" {
		data := stdout
		var tooBig error
		if int64(len(data)) > limit {
			data = data[:limit]
			tooBig = fmt.Errorf("stdout is %d MiB, over report.max_mb (%d); only the first %d MiB were read", len(stdout)>>20, sr.Report.MaxMB, sr.Report.MaxMB)
		}
		rep, err := parse(data)
		rec.Report = rep
		rec.ReportErr = errors.Join(tooBig, err)
		if rec.ReportErr != nil {
			rec.ReportErr = fmt.Errorf("stdout: %w", rec.ReportErr)
		}
		return
	}
	var fresh []string
	for _, f := range reportFiles(sr.Report.Path, sr.Report.Format) {
		if st, ok := statFile(f); ok {
			if old, seen := before[f]; seen && old == st {
				rec.Stale = append(rec.Stale, f)
				continue
			}
			fresh = append(fresh, f)
		}
	}
	if len(fresh) == 0 {
		rec.Missing = true
		return
	}
	rec.Reports = fresh
	var errs []error
	for _, f := range fresh {
		data, err := readCapped(f, limit)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			if data == nil {
				continue
			}
		}
		rep, perr := parse(data)
		if perr != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, perr))
		}
		rec.Report.Tests = append(rec.Report.Tests, rep.Tests...)
		rec.Report.Cached = append(rec.Report.Cached, rep.Cached...)
		for _, n := range rep.Notes {
			rec.Report.Notes = append(rec.Report.Notes, filepath.Base(f)+": "+n)
		}
		rec.Report.Text += rep.Text
	}
	rec.ReportErr = errors.Join(errs...)
}

func parserFor(format string) func([]byte) (Report, error) {
	switch format {
	case FormatGoTest:
		return parseGoTest
	case FormatTAP:
		return parseTAP
	default:
		return parseJUnit
	}
}

// readCapped reads at most limit bytes; a larger file is an error, and its
// first limit bytes are returned with it.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return data[:limit], fmt.Errorf("larger than report.max_mb (%d MiB); only the start was read", limit>>20)
	}
	return data, nil
}

// reportFiles resolves report.path: a glob, a directory (its files with
// the format's extension), or one file. Only regular files count.
func reportFiles(path, format string) []string {
	var candidates []string
	if strings.ContainsAny(path, "*?[") {
		candidates, _ = filepath.Glob(path)
	} else if st, err := os.Stat(path); err == nil && st.IsDir() {
		ext := map[string]string{FormatJUnit: "*.xml", FormatGoTest: "*.json", FormatTAP: "*.tap"}[format]
		candidates, _ = filepath.Glob(filepath.Join(path, ext))
	} else {
		candidates = []string{path}
	}
	var out []string
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

func snapshot(files []string) map[string]fileStamp {
	m := make(map[string]fileStamp, len(files))
	for _, f := range files {
		if st, ok := statFile(f); ok {
			m[f] = st
		}
	}
	return m
}

// outputWriter writes the child's stdout and stderr, which arrive from two
// goroutines, to the log file, and keeps the last bytes for the finding.
type outputWriter struct {
	mu   sync.Mutex
	w    io.Writer
	last []byte
	err  error
}

const keepBytes = 64 << 10

func (o *outputWriter) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		_, o.err = o.w.Write(p)
	}
	o.last = append(o.last, p...)
	if len(o.last) > 2*keepBytes {
		o.last = append(o.last[:0], o.last[len(o.last)-keepBytes:]...)
	}
	// A full disk must not kill the suite: the log is best effort.
	return len(p), nil
}

func (o *outputWriter) tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.last)
}
