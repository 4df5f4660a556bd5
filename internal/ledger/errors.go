package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MaxKeySize is the longest key, in bytes, either store accepts. Keys are
// bytes (any value, not only UTF-8); PostgreSQL indexes their sha256, so
// the limit is about what a key is for (an LLM request's fingerprint), not
// what an index row holds, and it is the same on both stores.
const MaxKeySize = 2048

// Errors that are not ledger outcomes: nothing was claimed, stored or
// waited for. Callers decide by errors.Is, never by an error's text.
var (
	// ErrInvalid wraps a bad argument: an empty key or owner, a key over
	// MaxKeySize, a lease that is not positive.
	ErrInvalid = errors.New("invalid argument")
	// ErrUnavailable wraps a failure to open or reach the store (a path
	// that cannot be opened, nothing listening, an unknown database).
	ErrUnavailable = errors.New("ledger store unavailable")
	// ErrNotLedger: the database exists and holds something else (another
	// application's SQLite file, random bytes). Nothing was written to it.
	ErrNotLedger = errors.New("not a ledger database")
	// ErrNoLedger: Options.MustExist was set and the database does not
	// exist; nothing was created.
	ErrNoLedger = errors.New("no ledger database")
	// ErrCorrupt: a stored output does not match the sha256 stored with
	// it. It is never delivered.
	ErrCorrupt = errors.New("stored output does not match its checksum")
	// ErrStore wraps an operation's failure that is the store's, not a
	// ledger outcome: a refused or dropped connection, too many clients,
	// a full disk, a read-only database, a lock not granted within the
	// budget. Nothing is known about the key from it.
	ErrStore = errors.New("ledger store error")
)

// StoreError is an operation that the store failed (it wraps ErrStore
// and the store's own error).
type StoreError struct {
	Op  string
	Err error
}

func (e *StoreError) Error() string { return "store error: " + e.Err.Error() }

// Unwrap returns ErrStore and the store's error.
func (e *StoreError) Unwrap() []error { return []error{ErrStore, e.Err} }

// opErr wraps an operation's error with the operation and key, marking
// what is not a ledger outcome as a StoreError.
func opErr(op, key string, err error) error {
	if !isOutcome(err) {
		err = &StoreError{Op: op, Err: err}
	}
	return fmt.Errorf("%s %s: %w", op, KeyRef(key), err)
}

// isOutcome reports whether err is the ledger's answer (or the caller's
// doing) rather than a fault of the store.
func isOutcome(err error) bool {
	var fe *FailedError
	var te *TimeoutError
	var se *StoreError
	for _, e := range []error{ErrNotOwner, ErrCompleted, ErrInvalid, ErrClosed, ErrCorrupt, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return true
		}
	}
	return errors.As(err, &fe) || errors.As(err, &te) || errors.As(err, &se)
}

// CheckKey rejects keys no store holds (empty, or over MaxKeySize), with
// an error wrapping ErrInvalid; every operation calls it.
func CheckKey(key string) error { return checkKey(key) }

func checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: the key is empty", ErrInvalid)
	case len(key) > MaxKeySize:
		return fmt.Errorf("%w: key %s is %d bytes, over the %d-byte limit", ErrInvalid, KeyRef(key), len(key), MaxKeySize)
	}
	return nil
}

// keyRefMax is how much of a key errors and logs echo.
const keyRefMax = 128

// KeyRef renders a key for messages: quoted, at most a short prefix of a
// long key (with its length), so that errors stay one readable line.
func KeyRef(key string) string {
	if len(key) <= keyRefMax {
		return strconv.Quote(key)
	}
	cut := keyRefMax
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(key[:cut]), len(key))
}

func checksum(data []byte) []byte {
	s := sha256.Sum256(data)
	return s[:]
}

// verify checks a stored output against its stored sha256.
func verify(key string, data, sum []byte) error {
	if !bytes.Equal(checksum(data), sum) {
		return fmt.Errorf("%w: the output of key %s (%d bytes) has sha256 %x, %x was stored with it", ErrCorrupt, KeyRef(key), len(data), checksum(data), sum)
	}
	return nil
}
