package report

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// ProgressOptions configure progress output.
type ProgressOptions struct {
	// Live redraws one line per check with a spinner; otherwise one plain
	// line is printed per event, which reads well in CI logs.
	Live  bool
	Color bool
	Now   func() time.Time
	// Interval between redraws; default 100ms.
	Interval time.Duration
}

// Progress shows checks as they run. It writes only to its writer (stderr)
// so that stdout stays a clean report.
type Progress struct {
	w     io.Writer
	opts  ProgressOptions
	mu    sync.Mutex
	rows  map[string]*progressRow
	order []string
	drawn int
	stop  chan struct{}
	done  chan struct{}
}

type progressRow struct {
	start  time.Time
	result *checks.Result
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// NewProgress starts a progress display.
func NewProgress(w io.Writer, opts ProgressOptions) *Progress {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Interval == 0 {
		opts.Interval = 100 * time.Millisecond
	}
	p := &Progress{w: w, opts: opts, rows: map[string]*progressRow{}, stop: make(chan struct{}), done: make(chan struct{})}
	if opts.Live {
		go p.loop()
	} else {
		close(p.done)
	}
	return p
}

// Event records a runner event.
func (p *Progress) Event(e checks.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Kind {
	case checks.EventStarted:
		p.rows[e.Name] = &progressRow{start: e.Time}
		p.order = append(p.order, e.Name)
		sort.Strings(p.order)
		if !p.opts.Live {
			fmt.Fprintf(p.w, "readiness: %s started\n", e.Name)
		}
	case checks.EventFinished:
		row := p.rows[e.Name]
		if row == nil {
			row = &progressRow{start: e.Time}
			p.rows[e.Name] = row
		}
		row.result = e.Result
		if !p.opts.Live {
			fmt.Fprintf(p.w, "readiness: %s %s (%s)%s\n", e.Name, progressStatus(e.Result), duration(e.Result.DurationMS), findingsNote(e.Result))
		}
	}
}

// progressStatus is a finished check's word before the policy has judged:
// findings are not yet "fail" (the verdict decides which block), so a check
// that found something has "finished"; the table after the verdict says
// warn or fail.
func progressStatus(r *checks.Result) checks.Status {
	if r.Status == checks.StatusFail {
		return "finished"
	}
	return r.Status
}

func findingsNote(r *checks.Result) string {
	switch {
	case r.Status == checks.StatusError:
		return ": " + truncate(oneLine(r.Error), 120)
	case len(r.Findings) == 1:
		return ", 1 finding"
	case len(r.Findings) > 1:
		return fmt.Sprintf(", %d findings", len(r.Findings))
	}
	return ""
}

func (p *Progress) loop() {
	defer close(p.done)
	t := time.NewTicker(p.opts.Interval)
	defer t.Stop()
	frame := 0
	for {
		select {
		case <-p.stop:
			p.draw(frame)
			return
		case <-t.C:
			frame++
			p.draw(frame)
		}
	}
}

// draw rewrites the block of lines it drew last time.
func (p *Progress) draw(frame int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pt := painter(p.opts.Color)
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA", p.drawn)
	}
	now := p.opts.Now()
	for _, name := range p.order {
		row := p.rows[name]
		var line string
		if row.result == nil {
			line = fmt.Sprintf("%s %s  %s", spinner[frame%len(spinner)], name, pt.paint(ansiDim, now.Sub(row.start).Truncate(100*time.Millisecond).String()))
		} else {
			// The policy has not judged yet: findings are not "fail"
			// until it says they block, so they show as found, in yellow.
			mark, word := pt.paint(ansiGreen, "✓"), pt.status(evidence.GatePass)
			switch row.result.Status {
			case checks.StatusFail:
				mark, word = pt.paint(ansiYellow, "•"), pt.paint(ansiYellow, count(len(row.result.Findings), "finding", "findings"))
			case checks.StatusError:
				mark, word = pt.paint(ansiRed, "✗"), pt.status(evidence.GateError)
			case checks.StatusSkipped:
				mark, word = pt.paint(ansiDim, "-"), pt.status(evidence.GateSkipped)
			}
			line = fmt.Sprintf("%s %s  %s %s", mark, name, word, pt.paint(ansiDim, duration(row.result.DurationMS)))
		}
		fmt.Fprintf(p.w, "\x1b[2K%s\n", line)
	}
	p.drawn = len(p.order)
}

// Stop ends the display; the last frame stays on screen.
func (p *Progress) Stop() {
	if p.opts.Live {
		close(p.stop)
	}
	<-p.done
}
