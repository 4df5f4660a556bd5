package ledgerproto

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/readiness-dev/readiness/internal/procexec"
)

// Command is how to start a driver: an argument list, run without a shell.
type Command struct {
	Argv []string `json:"argv"`
	// Env is added to readiness's environment (KEY=VALUE).
	Env []string `json:"env,omitempty"`
	Dir string   `json:"dir,omitempty"`
}

func (c Command) String() string { return strings.Join(c.Argv, " ") }

// DriverError is anything a driver did wrong: it did not start, exited,
// broke the protocol, or did not answer in time. It names the driver and
// carries the last lines of its stderr.
type DriverError struct {
	Driver string
	Node   string
	What   string
	Stderr string
}

func (e *DriverError) Error() string {
	s := fmt.Sprintf("ledger driver %q", e.Driver)
	if e.Node != "" {
		s += " (" + e.Node + ")"
	}
	s += " " + e.What
	if e.Stderr != "" {
		s += "; last stderr lines: " + e.Stderr
	}
	return s
}

// Options tune a client.
type Options struct {
	// Node names the router this process plays (sent in init).
	Node string
	// HandshakeTimeout bounds the wait for init_ok (default 30s).
	HandshakeTimeout time.Duration
	// RequestTimeout bounds the answer to a request other than wait, and
	// what a wait may take beyond its own timeout_ms (default 30s).
	RequestTimeout time.Duration
}

// Client is one running driver process.
type Client struct {
	cmd    Command
	opts   Options
	hello  Hello
	kill   context.CancelFunc
	stdin  *os.File
	stderr *tailBuffer
	exited chan struct{}

	wmu sync.Mutex // serialises writes to stdin
	mu  sync.Mutex
	// calls in flight by id; next id.
	calls map[int64]*pending
	next  int64
	// abandoned ids: their caller gave up (a crashed router's wait); a
	// late reply to one is not a fault.
	abandoned map[int64]bool
	// fault is the first thing the driver did wrong; every call after it
	// fails with it.
	fault error
}

type pending struct {
	onEvent func(Reply)
	done    chan Reply
	err     chan error
}

// Start runs the driver, sends init and waits for its handshake. Any
// failure is a *DriverError naming the driver and what it did.
func Start(ctx context.Context, cmd Command, opts Options) (*Client, error) {
	if len(cmd.Argv) == 0 || cmd.Argv[0] == "" {
		return nil, errors.New("ledger driver: no command given")
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = 30 * time.Second
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	// stdin is an OS pipe handed to the driver as is: exec copies nothing,
	// so a driver that exits without reading does not leave a copier
	// blocked on it (which would hold up Wait).
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("ledger driver %q: %w", cmd, err)
	}
	pctx, kill := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	c := &Client{cmd: cmd, opts: opts, kill: kill, stdin: inW, stderr: &tailBuffer{}, exited: make(chan struct{}), calls: map[int64]*pending{}, abandoned: map[int64]bool{}}
	runErr := make(chan error, 1)
	go func() {
		res, err := procexec.Run(pctx, procexec.Cmd{Path: cmd.Argv[0], Args: cmd.Argv[1:], Env: cmd.Env, Dir: cmd.Dir,
			Stdin: inR, Stdout: outW, Stderr: c.stderr, WaitDelay: 500 * time.Millisecond})
		switch {
		case err != nil && pctx.Err() == nil:
			runErr <- err
		case err == nil:
			runErr <- fmt.Errorf("exited with status %d", res.ExitCode)
		default:
			runErr <- errors.New("was killed")
		}
		_ = outW.Close()
		_ = inR.Close()
	}()
	hello := make(chan Hello, 1)
	go c.read(outR, hello, runErr)
	if err := c.write(Init{Type: "init", Protocol: Version, Node: opts.Node}); err != nil {
		c.Kill()
		if f := c.Fault(); f != nil {
			return nil, f
		}
		return nil, c.failure("could not be sent init: " + err.Error())
	}
	t := time.NewTimer(opts.HandshakeTimeout)
	defer t.Stop()
	select {
	case h, ok := <-hello:
		if ok {
			c.hello = h
			return c, nil
		}
		c.Kill()
		return nil, c.Fault()
	case <-t.C:
		c.Kill()
		return nil, c.failure(fmt.Sprintf("did not answer init within %s", opts.HandshakeTimeout))
	case <-ctx.Done():
		c.Kill()
		return nil, ctx.Err()
	}
}

// read decodes the driver's stdout until it ends. The first line must be
// the handshake; every later line a reply to a request in flight.
func (c *Client) read(out io.Reader, hello chan<- Hello, runErr <-chan error) {
	defer close(c.exited)
	defer close(hello)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	first := true
	for sc.Scan() {
		line := sc.Bytes()
		if first {
			first = false
			h, err := DecodeHello(line)
			if err != nil {
				c.setFault("handshake: " + err.Error())
				c.kill()
				break
			}
			hello <- h
			continue
		}
		r, err := DecodeReply(line)
		if err != nil {
			c.setFault("broke the protocol: " + err.Error())
			c.kill()
			break
		}
		if !c.dispatch(r) {
			c.setFault(fmt.Sprintf("answered id %d, which no request in flight has", r.ID))
			c.kill()
			break
		}
	}
	if err := sc.Err(); err != nil {
		c.setFault("wrote an unreadable line: " + err.Error())
		c.kill()
	}
	_ = c.stdin.Close() // nobody reads it any more: unblock writers
	_, _ = io.Copy(io.Discard, out)
	what := "exited"
	if first {
		what = "exited before its handshake"
	}
	select {
	case err := <-runErr:
		what += " (" + err.Error() + ")"
	case <-time.After(5 * time.Second):
	}
	c.setFault(what)
}

func (c *Client) dispatch(r Reply) bool {
	c.mu.Lock()
	p := c.calls[r.ID]
	if p != nil && r.Event == "" {
		delete(c.calls, r.ID)
	}
	gone := c.abandoned[r.ID]
	if gone && r.Event == "" {
		delete(c.abandoned, r.ID)
	}
	c.mu.Unlock()
	if p == nil {
		return gone
	}
	if r.Event != "" {
		if p.onEvent != nil {
			p.onEvent(r)
		}
		return true
	}
	p.done <- r
	return true
}

// setFault records the first fault and fails every call in flight.
func (c *Client) setFault(what string) {
	c.mu.Lock()
	if c.fault == nil {
		c.fault = c.failure(what)
	}
	err := c.fault
	calls := c.calls
	c.calls = map[int64]*pending{}
	c.mu.Unlock()
	for _, p := range calls {
		p.err <- err
	}
}

func (c *Client) failure(what string) *DriverError {
	return &DriverError{Driver: c.cmd.String(), Node: c.opts.Node, What: what, Stderr: c.stderr.Tail(5)}
}

// Fault is the first thing the driver did wrong (nil while it behaves).
func (c *Client) Fault() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fault
}

// Hello is the driver's handshake.
func (c *Client) Hello() Hello { return c.hello }

// Command is the driver's command.
func (c *Client) Command() Command { return c.cmd }

// Stderr returns the last n lines the driver wrote to stderr.
func (c *Client) Stderr(n int) string { return c.stderr.Tail(n) }

func (c *Client) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = c.stdin.Write(b)
	return err
}

// Call sends req (its ID is assigned here) and waits for the reply,
// calling onEvent for a "waiting" event. A driver that does not answer
// within the request timeout (for a wait: its timeout_ms plus the request
// timeout) is a fault: the process is killed and every call fails. The
// error is a *DriverError or ctx's error; a reply's own typed error is in
// Reply.Error.
func (c *Client) Call(ctx context.Context, req Request, onEvent func(Reply)) (Reply, error) {
	p := &pending{onEvent: onEvent, done: make(chan Reply, 1), err: make(chan error, 1)}
	c.mu.Lock()
	if c.fault != nil {
		err := c.fault
		c.mu.Unlock()
		return Reply{}, err
	}
	c.next++
	req.ID = c.next
	c.calls[req.ID] = p
	c.mu.Unlock()
	if err := c.write(req); err != nil {
		c.setFault("stopped reading its stdin: " + err.Error())
		return Reply{}, c.Fault()
	}
	limit := c.opts.RequestTimeout + time.Duration(req.TimeoutMS)*time.Millisecond
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case r := <-p.done:
		return r, nil
	case err := <-p.err:
		return Reply{}, err
	case <-t.C:
		c.setFault(fmt.Sprintf("did not answer %s %q (id %d) within %s", req.Op, req.Key, req.ID, limit))
		c.kill()
		return Reply{}, c.Fault()
	case <-ctx.Done():
		c.mu.Lock()
		if c.calls[req.ID] != nil {
			delete(c.calls, req.ID)
			c.abandoned[req.ID] = true
		}
		c.mu.Unlock()
		return Reply{}, ctx.Err()
	}
}

// Kill SIGKILLs the driver's process group and waits until it is gone.
func (c *Client) Kill() {
	c.kill()
	_ = c.stdin.Close()
	<-c.exited
}

// Close ends the driver gently (stdin EOF), killing it if it lingers.
func (c *Client) Close() error {
	_ = c.stdin.Close()
	select {
	case <-c.exited:
	case <-time.After(3 * time.Second):
	}
	c.Kill()
	return nil
}

// tailBuffer keeps the last 64 KiB a driver wrote to stderr.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - 64<<10; over > 0 {
		t.b = append([]byte{}, t.b[over:]...)
	}
	return len(p), nil
}

// Tail returns the last n non-empty lines, joined by " | ".
func (t *tailBuffer) Tail(n int) string {
	t.mu.Lock()
	s := string(t.b)
	t.mu.Unlock()
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
