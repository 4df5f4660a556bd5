package ledgerproto

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// Handler answers one request; waiting, when called, tells readiness that
// a wait is in place. It runs concurrently with other requests.
type Handler func(ctx context.Context, req Request, waiting func()) Reply

// Serve is the driver side of the protocol for drivers written in Go: it
// reads init, answers with hello, then serves every request line in its
// own goroutine (so waits block only themselves) until stdin ends.
func Serve(ctx context.Context, stdin io.Reader, stdout io.Writer, hello Hello, handle Handler) error {
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	if !sc.Scan() {
		return fmt.Errorf("no init line: %v", sc.Err())
	}
	in, err := DecodeInit(sc.Bytes())
	if err != nil {
		return err
	}
	if in.Protocol != Version {
		return fmt.Errorf("readiness speaks protocol %d; this driver speaks %d", in.Protocol, Version)
	}
	hello.Type, hello.Protocol = "init_ok", Version
	var mu sync.Mutex
	enc := json.NewEncoder(stdout)
	emit := func(v any) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(v)
	}
	emit(hello)
	var wg sync.WaitGroup
	defer wg.Wait()
	for sc.Scan() {
		req, err := DecodeRequest(sc.Bytes())
		if err != nil {
			// Without an id there is nobody to answer: stop, so readiness
			// sees the driver exit rather than a request never answered.
			return fmt.Errorf("bad request: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := handle(ctx, req, func() { emit(Reply{ID: req.ID, Event: EventWaiting}) })
			r.ID = req.ID
			emit(r)
		}()
	}
	return sc.Err()
}
