package ledger

import (
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
