package sign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Retry bounds how a network call (registry, Fulcio, Rekor) is retried:
// exponential backoff from Initial, doubling, each wait capped at Max, at
// most Attempts tries. The overall deadline is the context's.
type Retry struct {
	Attempts int
	Initial  time.Duration
	Max      time.Duration
}

// DefaultRetry is four tries waiting about 0.25s, 0.5s and 1s between them.
var DefaultRetry = Retry{Attempts: 4, Initial: 250 * time.Millisecond, Max: 4 * time.Second}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = DefaultRetry.Attempts
	}
	if r.Initial <= 0 {
		r.Initial = DefaultRetry.Initial
	}
	if r.Max <= 0 {
		r.Max = DefaultRetry.Max
	}
	return r
}

// backoff is the same policy in go-containerregistry's terms, used by its
// retrying transport for every registry request.
func (r Retry) backoff() remote.Backoff {
	r = r.withDefaults()
	return remote.Backoff{Duration: r.Initial, Factor: 2, Jitter: 0.1, Steps: r.Attempts, Cap: r.Max}
}

// retryStatus are the HTTP statuses worth another try.
var retryStatus = []int{
	http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// do calls f until it succeeds, fails permanently, runs out of attempts, or
// ctx ends. what names the call in the error.
func (r Retry) do(ctx context.Context, what string, f func(context.Context) error) error {
	r = r.withDefaults()
	wait := r.Initial
	var err error
	for attempt := 1; ; attempt++ {
		if err = f(ctx); err == nil {
			return nil
		}
		if attempt >= r.Attempts || !transient(err) || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (gave up: %v)", what, err, context.Cause(ctx))
		case <-t.C:
		}
		wait = min(2*wait, r.Max)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// transient reports whether err is worth retrying: a network failure or a
// server-side status, never an authentication or validation refusal.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return isRetryStatus(te.StatusCode)
	}
	// go-openapi clients (Rekor, Fulcio) expose the status as Code().
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return isRetryStatus(coded.Code())
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	for _, e := range connErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func isRetryStatus(code int) bool {
	for _, c := range retryStatus {
		if c == code {
			return true
		}
	}
	return false
}
