package ledger

import (
	"context"
	"sync"
)

// hub fans state changes out to this process's waiters. Every waiter of a
// key shares one watch: a change is read from the store once and handed to
// all of them, so a thousand waiters cost one query, not a thousand.
type hub struct {
	mu      sync.Mutex
	watches map[string]*watch
	// active is signalled when the first watch appears, so that a change
	// feed that idles without waiters can wake up.
	active chan struct{}
}

type watch struct {
	key  string
	refs int
	// known is false until a state was published.
	known   bool
	state   State
	changed chan struct{} // closed and replaced on every publish
	// reading is the store read of this key in progress, next the one
	// that starts when it ends (see hub.read).
	reading, next *read
}

// read is one store read shared by the waiters that asked for it.
type read struct {
	done chan struct{}
	st   State
	err  error
	// abandoned: the reader's context ended, so err says nothing about
	// the store.
	abandoned bool
	// joined counts the callers that share this read without leading it
	// (guarded by hub.mu; tests wait on it instead of sleeping).
	joined int
}

func newHub() *hub {
	return &hub{watches: map[string]*watch{}, active: make(chan struct{}, 1)}
}

// subscribe registers interest in key; call the returned func to stop.
func (h *hub) subscribe(key string) (*watch, func()) {
	h.mu.Lock()
	w := h.watches[key]
	if w == nil {
		w = &watch{key: key, changed: make(chan struct{})}
		h.watches[key] = w
		if len(h.watches) == 1 {
			select {
			case h.active <- struct{}{}:
			default:
			}
		}
	}
	w.refs++
	h.mu.Unlock()
	return w, func() {
		h.mu.Lock()
		w.refs--
		if w.refs == 0 && h.watches[key] == w {
			delete(h.watches, key)
		}
		h.mu.Unlock()
	}
}

// snapshot returns the latest state and a channel closed on the next change.
func (h *hub) snapshot(w *watch) (State, bool, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return w.state, w.known, w.changed
}

// publish merges st into the watch of its key, if anyone watches it, and
// wakes the waiters when it taught them something.
func (h *hub) publish(st State) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.watches[st.Key]
	if w == nil {
		return
	}
	next := st
	if w.known {
		next = merge(w.state, st)
	}
	w.state, w.known = next, true
	close(w.changed)
	w.changed = make(chan struct{})
}

// watched reports whether key has waiters here.
func (h *hub) watched(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.watches[key] != nil
}

// keys lists the watched keys.
func (h *hub) keys() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.watches))
	for k := range h.watches {
		out = append(out, k)
	}
	return out
}

// idle reports whether nobody waits.
func (h *hub) idle() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.watches) == 0
}

// read returns a state of w's key read from the store after the call
// began, sharing the read with the waiters that ask at the same time: a
// caller joins the next read to start, never one already running (that
// one may predate a change the caller knows of), so four waiters arriving
// together cost two reads, not four. fetch is the read; a joiner whose
// shared read failed because the reader's context ended reads again.
func (h *hub) read(ctx context.Context, w *watch, fetch func(context.Context) (State, error)) (State, error) {
	for {
		h.mu.Lock()
		r, lead := w.next, false
		if r == nil {
			r, lead = &read{done: make(chan struct{})}, true
			w.next = r
		} else {
			r.joined++
		}
		h.mu.Unlock()
		if lead {
			h.lead(ctx, w, r, fetch)
		} else {
			select {
			case <-r.done:
			case <-ctx.Done():
				return State{}, ctx.Err()
			}
		}
		if r.err != nil && !lead && r.abandoned && ctx.Err() == nil {
			continue // the reader gave up, not the store
		}
		return r.st, r.err
	}
}

// lead runs r once the read in progress, if any, has ended.
func (h *hub) lead(ctx context.Context, w *watch, r *read, fetch func(context.Context) (State, error)) {
	defer close(r.done)
	h.mu.Lock()
	for w.reading != nil {
		prev := w.reading
		h.mu.Unlock()
		select {
		case <-prev.done:
		case <-ctx.Done():
			h.mu.Lock()
			if w.next == r {
				w.next = nil
			}
			h.mu.Unlock()
			r.err, r.abandoned = ctx.Err(), true
			return
		}
		h.mu.Lock()
	}
	if w.next == r {
		w.next = nil
	}
	w.reading = r
	h.mu.Unlock()
	r.st, r.err = fetch(ctx)
	r.abandoned = r.err != nil && ctx.Err() != nil
	h.mu.Lock()
	w.reading = nil
	h.mu.Unlock()
}
