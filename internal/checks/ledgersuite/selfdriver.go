package ledgersuite

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/readiness-dev/readiness/internal/buildinfo"
	"github.com/readiness-dev/readiness/internal/ledger"
	"github.com/readiness-dev/readiness/internal/ledgerproto"
)

// DriverMain is readiness's own ledger as a ledger driver (`readiness
// ledger driver --db DSN`): the reference implementation of the driver
// protocol, against which the suite proves itself.
func DriverMain(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("ledger driver", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the command prints its own help; errors are returned
	dsn := fs.String("db", "", "ledger DSN")
	name := fs.String("name", "driver", "owner-ID prefix")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dsn == "" {
		return errors.New("--db is required")
	}
	l, err := ledger.Open(ctx, *dsn, ledger.Options{Name: fmt.Sprintf("%s:%d", *name, os.Getpid())})
	if err != nil {
		return err
	}
	defer l.Close()
	hello := ledgerproto.Hello{
		Ops:      ledgerproto.KnownOps,
		Features: []string{ledgerproto.FeatureTokens, ledgerproto.FeatureLeases},
		Durable:  true,
		Name:     "readiness internal/ledger (" + string(l.DSN().Driver) + ")",
		Version:  buildinfo.Get().Version,
	}
	return ledgerproto.Serve(ctx, stdin, stdout, hello, func(ctx context.Context, req ledgerproto.Request, waiting func()) ledgerproto.Reply {
		return serveDriver(ctx, l, req, waiting)
	})
}

// serveDriver performs one protocol request on a readiness ledger.
func serveDriver(ctx context.Context, l Ledger, req ledgerproto.Request, waiting func()) ledgerproto.Reply {
	lease := time.Duration(req.LeaseMS) * time.Millisecond
	var r ledgerproto.Reply
	var err error
	switch req.Op {
	case ledgerproto.OpClaim:
		var c ledger.Claim
		if c, err = l.Claim(ctx, req.Key, req.Owner, lease); err == nil {
			r = protoState(c.State)
			r.Owned = c.Owned
		}
	case ledgerproto.OpComplete:
		var out []byte
		if req.Output != nil {
			out = *req.Output
		}
		var st ledger.State
		var stored bool
		if st, stored, err = l.Complete(ctx, req.Key, req.Owner, out); err == nil {
			r = protoState(st)
			r.Stored = stored
		}
	case ledgerproto.OpFail:
		var st ledger.State
		if st, err = l.Fail(ctx, req.Key, req.Owner, req.Message); err == nil {
			r = protoState(st)
		}
	case ledgerproto.OpInspect:
		var st ledger.State
		if st, err = l.Inspect(ctx, req.Key); err == nil {
			r = protoState(st)
		}
	case ledgerproto.OpForget:
		err = l.Forget(ctx, req.Key)
	case ledgerproto.OpRecreate:
		err = l.UnsafeRecreate(ctx, req.Key, req.Owner, lease)
	case ledgerproto.OpRenew:
		err = l.Renew(ctx, req.Key, req.Owner, lease)
	case ledgerproto.OpWait:
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if req.TimeoutMS > 0 {
			wctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutMS)*time.Millisecond)
		}
		var res ledger.Result
		res, err = l.Wait(wctx, req.Key, ledger.After(req.After), ledger.OnWaiting(func(ledger.State) { waiting() }))
		cancel()
		if err == nil {
			r = ledgerproto.Reply{State: ledgerproto.StateCompleted, Output: ledgerproto.Bytes(res.Output), Owner: res.Owner, Source: string(res.Source)}
		}
	default:
		return ledgerproto.Reply{Error: &ledgerproto.Error{Kind: ledgerproto.ErrUnknownOp, Message: fmt.Sprintf("unknown op %q", req.Op)}}
	}
	if err != nil {
		r.Error = protoError(err)
	}
	return r
}

func protoState(st ledger.State) ledgerproto.Reply {
	r := ledgerproto.Reply{}
	switch st.Phase() {
	case ledger.PhaseCompleted:
		r.State, r.Output, r.Owner = ledgerproto.StateCompleted, ledgerproto.Bytes(st.Output.Data), st.Output.Owner
		return r
	case ledger.PhaseAbsent:
		r.State = ledgerproto.StateAbsent
		return r
	case ledger.PhaseFailed:
		r.State, r.Failure = ledgerproto.StateFailed, st.Attempt.Error
	case ledger.PhaseExpired:
		r.State = ledgerproto.StateExpired
	default:
		r.State = ledgerproto.StateRunning
	}
	r.Owner, r.Token = st.Attempt.Owner, st.Attempt.Token
	return r
}

func protoError(err error) *ledgerproto.Error {
	e := &ledgerproto.Error{Message: err.Error()}
	var fe *ledger.FailedError
	switch errKind(err) {
	case kindFailed:
		e.Kind = ledgerproto.ErrFailed
		if errors.As(err, &fe) {
			e.Token = fe.Token
		}
	case kindTimeout:
		e.Kind = ledgerproto.ErrTimeout
		var te *ledger.TimeoutError
		if errors.As(err, &te) {
			e.Key, e.State, e.WaitedMS = te.Key, protoState(te.Last).State, te.Elapsed.Milliseconds()
		}
	case kindNotOwner:
		e.Kind = ledgerproto.ErrNotOwner
	case kindCompleted:
		e.Kind = ledgerproto.ErrCompleted
	default:
		e.Kind = ledgerproto.ErrStore
	}
	return e
}
