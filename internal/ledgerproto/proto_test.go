package ledgerproto

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

const helloLine = `{"type":"init_ok","protocol":1,"ops":["claim","complete","fail","wait"],"durable":true}`

// shDriver is a fake driver written in sh: it exists only to misbehave on
// demand (a real ledger driver will not exit, lie or hang when asked to).
func shDriver(script string) Command {
	return Command{Argv: []string{"/bin/sh", "-c", script}}
}

func TestDecodeReply(t *testing.T) {
	for _, tc := range []struct {
		line, err string
	}{
		{`{"id":1,"state":"completed","output":""}`, ""},
		{`{"id":1,"state":"completed","output":"aGk="}`, ""},
		{`{"id":2,"event":"waiting"}`, ""},
		{`{"id":3,"error":{"kind":"failed","message":"x","token":4}}`, ""},
		{`{"id":1,"state":"completed"}`, "without an output"},
		{`{"id":1,"state":"completed","ouput":"aGk="}`, "unknown field"},
		{`{"id":0,"state":"absent"}`, "positive id"},
		{`{"state":"absent"}`, "positive id"},
		{`{"id":1,"state":"done"}`, "unknown state"},
		{`{"id":1,"event":"progress"}`, "unknown event"},
		{`{"id":1,"error":{"message":"x"}}`, "without a kind"},
		{`{"id":1,"output":"not base64!"}`, "bad JSON"},
		{`{"id":1} {"id":2}`, "more than one"},
		{`hello`, "not a JSON object"},
		{``, "not a JSON object"},
		{`[1]`, "not a JSON object"},
	} {
		_, err := DecodeReply([]byte(tc.line))
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: got error %v, want %q", tc.line, err, tc.err)
		}
	}
}

func TestDecodeHello(t *testing.T) {
	for _, tc := range []struct {
		line, err string
	}{
		{helloLine, ""},
		{`{"type":"init_ok","protocol":2,"ops":["claim","complete","fail","wait"]}`, "protocol version 2"},
		{`{"type":"init_ok","protocol":1,"ops":["claim","complete","wait"]}`, "lacks the core ops [fail]"},
		{`{"type":"init_ok","protocol":1,"ops":["claim","complete","fail","wait","teleport"]}`, `op "teleport"`},
		{`{"type":"hello","protocol":1,"ops":["claim","complete","fail","wait"]}`, `type "hello"`},
	} {
		_, err := DecodeHello([]byte(tc.line))
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: got error %v, want %q", tc.line, err, tc.err)
		}
	}
}

// Replies may come back out of order, with a waiting event before the
// final answer; several requests are in flight at once.
func TestClientOutOfOrder(t *testing.T) {
	c, err := Start(context.Background(), shDriver(`read init; echo '`+helloLine+`'; read a; read b
# whichever request came first: answer the inspect, then the wait.
case "$a" in *'"op":"wait"'*) w="$a"; i="$b";; *) w="$b"; i="$a";; esac
w=$(echo "$w" | sed 's/.*"id":\([0-9]*\).*/\1/'); i=$(echo "$i" | sed 's/.*"id":\([0-9]*\).*/\1/')
echo '{"id":'$i',"state":"absent"}'; echo '{"id":'$w',"event":"waiting"}'; echo '{"id":'$w',"state":"completed","output":""}'; cat >/dev/null`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	var waited bool
	var r1, r2 Reply
	var e1, e2 error
	wg.Add(1)
	go func() {
		defer wg.Done()
		r1, e1 = c.Call(context.Background(), Request{Op: OpWait, Key: "k", TimeoutMS: 1000}, func(Reply) { waited = true })
	}()
	r2, e2 = c.Call(context.Background(), Request{Op: OpInspect, Key: "k"}, nil)
	wg.Wait()
	if e1 != nil || e2 != nil {
		t.Fatal(e1, e2)
	}
	if !waited || r1.State != StateCompleted || r1.Output == nil || len(*r1.Output) != 0 || r2.State != StateAbsent {
		t.Errorf("got waited=%v %+v %+v", waited, r1, r2)
	}
	if !c.Hello().Durable || c.Hello().Supports(OpForget) {
		t.Errorf("handshake %+v", c.Hello())
	}
}

// Every way a driver can misbehave is an error naming the driver, what it
// did and its last stderr lines.
func TestFakeDriverFaults(t *testing.T) {
	opts := Options{HandshakeTimeout: 2 * time.Second, RequestTimeout: 300 * time.Millisecond}
	atStart := []struct {
		name string
		cmd  Command
		want []string
	}{
		{"does not exist", Command{Argv: []string{"/nonexistent/ledger-driver"}}, []string{"/nonexistent/ledger-driver", "exited before its handshake", "not found"}},
		{"exits", shDriver(`echo "cannot open db" >&2; exit 3`), []string{"exited before its handshake", "status 3", "cannot open db"}},
		{"prints non-JSON", shDriver(`read l; echo "Traceback (most recent call last):"; sleep 5`), []string{"handshake", "not a JSON object", "Traceback"}},
		{"wrong protocol", shDriver(`read l; echo '{"type":"init_ok","protocol":2,"ops":["claim","complete","fail","wait"]}'; sleep 5`), []string{"protocol version 2"}},
		{"lacks core ops", shDriver(`read l; echo '{"type":"init_ok","protocol":1,"ops":["claim"]}'; sleep 5`), []string{"lacks the core ops"}},
		{"never answers init", shDriver(`echo "starting" >&2; sleep 10`), []string{"did not answer init within 2s", "starting"}},
	}
	for _, tc := range atStart {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Start(context.Background(), tc.cmd, opts)
			if err == nil {
				c.Close()
				t.Fatal("Start succeeded")
			}
			var de *DriverError
			if !errors.As(err, &de) {
				t.Fatalf("want a *DriverError, got %T %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	during := []struct {
		name   string
		script string
		want   []string
	}{
		{"exits mid-run", `read r; echo "segfault" >&2; exit 1`, []string{"exited (exited with status 1)", "segfault"}},
		{"prints non-JSON mid-run", `read r; echo "debug: got $r"; sleep 5`, []string{"broke the protocol", "not a JSON object"}},
		{"answers an unknown id", `read r; echo '{"id":99,"state":"absent"}'; sleep 5`, []string{"answered id 99"}},
		{"never answers", `cat >/dev/null`, []string{"did not answer claim \"k\" (id 1) within 300ms"}},
		{"completed without output", `read r; echo '{"id":1,"state":"completed"}'; sleep 5`, []string{"without an output"}},
	}
	for _, tc := range during {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Start(context.Background(), shDriver(`read init; echo '`+helloLine+`'; `+tc.script), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.Call(context.Background(), Request{Op: OpClaim, Key: "k", Owner: "A"}, nil)
			var de *DriverError
			if !errors.As(err, &de) {
				t.Fatalf("want a *DriverError, got %T %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if c.Fault() == nil {
				t.Error("the client must stay faulted")
			}
			if _, err := c.Call(context.Background(), Request{Op: OpClaim, Key: "k2"}, nil); err == nil {
				t.Error("a call after a fault must fail")
			}
		})
	}
}

func FuzzDecodeReply(f *testing.F) {
	for _, s := range []string{`{"id":1,"state":"completed","output":""}`, `{"id":2,"event":"waiting"}`,
		`{"id":3,"error":{"kind":"failed","message":"x","token":4}}`, helloLine, `{"id":1,"owned":true,"state":"running","owner":"A","token":7}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeReply(b)
		if err != nil {
			return
		}
		// What the decoder accepts is well formed: an id, a known state,
		// a completed state with an output, an error with a kind.
		if r.ID <= 0 || (r.State == StateCompleted && r.Output == nil && r.Error == nil) || (r.Error != nil && r.Error.Kind == "") {
			t.Fatalf("accepted a malformed reply %q: %+v", b, r)
		}
		_, _ = DecodeHello(b)
		_, _ = DecodeRequest(b)
	})
}
