package ledger

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestOpErrMarksStoreFaults: what the store failed is ErrStore, what the
// ledger answered is not; callers (the regression suite) tell a fault from
// a verdict by errors.Is, never by text.
func TestOpErrMarksStoreFaults(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		store bool
	}{
		{"too many clients", &pgconn.PgError{Code: "53300", Message: "sorry, too many clients already"}, true},
		{"disk full", &pgconn.PgError{Code: "53100", Message: "could not extend file"}, true},
		{"read-only", &pgconn.PgError{Code: "25006", Message: "cannot execute INSERT in a read-only transaction"}, true},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"not owner", ErrNotOwner, false},
		{"completed", ErrCompleted, false},
		{"invalid", fmt.Errorf("%w: empty key", ErrInvalid), false},
		{"closed", ErrClosed, false},
		{"canceled", context.Canceled, false},
		{"failed", &FailedError{Key: "k", Message: "boom"}, false},
		{"timeout", &TimeoutError{Key: "k", Cause: context.DeadlineExceeded}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := opErr("complete", "k", tt.err)
			if got := errors.Is(err, ErrStore); got != tt.store {
				t.Errorf("errors.Is(%v, ErrStore) = %v, want %v", err, got, tt.store)
			}
			if !errors.Is(err, tt.err) && !errors.Is(tt.err, context.Canceled) {
				t.Errorf("%v does not wrap %v", err, tt.err)
			}
			var se *StoreError
			if tt.store && (!errors.As(err, &se) || se.Op != "complete") {
				t.Errorf("%v: want a StoreError naming the op", err)
			}
		})
	}
}
