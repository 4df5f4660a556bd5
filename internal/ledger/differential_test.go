package ledger

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// FuzzStoresAgree is a differential test (issue 15): the same operations,
// with random bytes as keys, owners, messages and outputs, run against
// SQLite and PostgreSQL, and both must give the same answers. Tokens are
// store-wide counters and are not compared.
func FuzzStoresAgree(f *testing.F) {
	pgDSN := postgresDSN(f)
	ctx := context.Background()
	sq, err := Open(ctx, "sqlite://"+f.TempDir()+"/ledger.db", Options{Budget: 5 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = sq.Close() })
	pg, err := Open(ctx, pgDSN, Options{Budget: 5 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = pg.Close() })
	f.Add([]byte("\x00\x03k\xff\x00\x01a\x01\x03out\x02\x01b\x02\x00\x01\x05\x00"))
	f.Add([]byte("\x00\x00\x01a\x02\x01a\x04\xff\xfe\x00x\x00\x02\x01z"))
	f.Add([]byte("\x05\x00\x01\x00\x03\x00\x00\x01\x80\x01\x01\x80\x00"))
	f.Fuzz(func(t *testing.T, script []byte) {
		prefix := randomHex(6) + "/"
		r := &fuzzReader{b: script}
		for step := 0; step < 12 && r.more(); step++ {
			op := r.byte() % 6
			key := ""
			if k := r.bytes(); len(k) > 0 || r.byte()%4 != 0 { // now and then the empty key
				key = prefix + string(k)
			}
			owner, arg := string(r.bytes()), r.bytes()
			a, erra := runOp(ctx, sq, op, key, owner, arg)
			b, errb := runOp(ctx, pg, op, key, owner, arg)
			if a != b || errClass(erra) != errClass(errb) {
				t.Fatalf("step %d op %d key %q owner %q arg %q:\n sqlite:   %s (%v)\n postgres: %s (%v)", step, op, key, owner, arg, a, erra, b, errb)
			}
		}
	})
}

type fuzzReader struct {
	b []byte
	i int
}

func (r *fuzzReader) more() bool { return r.i < len(r.b) }

func (r *fuzzReader) byte() byte {
	if r.i >= len(r.b) {
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func (r *fuzzReader) bytes() []byte {
	n := int(r.byte() % 12)
	n = min(n, len(r.b)-r.i)
	out := r.b[r.i : r.i+n]
	r.i += n
	return out
}

// runOp performs one operation and renders what a caller can see of its
// answer, without store-specific numbers (tokens, times).
func runOp(ctx context.Context, l *Ledger, op byte, key, owner string, arg []byte) (string, error) {
	switch op {
	case 0:
		c, err := l.Claim(ctx, key, owner, time.Minute)
		return fmt.Sprintf("claim owned=%v %s", c.Owned, render(c.State)), err
	case 1:
		st, stored, err := l.Complete(ctx, key, owner, arg)
		return fmt.Sprintf("complete stored=%v %s", stored, render(st)), err
	case 2:
		st, err := l.Fail(ctx, key, owner, string(arg))
		return "fail " + render(st), err
	case 3:
		return "forget", l.Forget(ctx, key)
	case 4:
		return "renew", l.Renew(ctx, key, owner, time.Minute)
	default:
		st, err := l.Inspect(ctx, key)
		return "inspect " + render(st), err
	}
}

func render(st State) string {
	s := "phase=" + string(st.Phase())
	if o := st.Output; o != nil {
		s += fmt.Sprintf(" output=%q by %q", o.Data, o.Owner)
	}
	if a := st.Attempt; a != nil {
		s += fmt.Sprintf(" attempt by %q %s %q", a.Owner, a.Status, a.Error)
	}
	return s
}

func errClass(err error) string {
	for _, e := range []error{ErrInvalid, ErrNotOwner, ErrCompleted, ErrCorrupt} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}
