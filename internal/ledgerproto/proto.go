// Package ledgerproto is the ledger driver protocol: how readiness drives a
// team's inflight-deduplication ledger, written in any language, to run the
// ledger conformance suite against it. readiness starts the driver command
// (an argument list, never a shell) once per simulated router process; the
// two speak newline-delimited JSON over the driver's stdin and stdout.
// docs/gates/ledger-driver.md is the specification; this package is its
// encoder, decoder, client and a server loop for drivers written in Go.
package ledgerproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Version is the protocol version this package speaks.
const Version = 1

// Operations a driver may support. The core set is required.
const (
	OpClaim    = "claim"
	OpComplete = "complete"
	OpFail     = "fail"
	OpWait     = "wait"
	OpInspect  = "inspect"
	OpForget   = "forget"
	OpRecreate = "recreate"
	OpRenew    = "renew"
)

// CoreOps every driver must support.
var CoreOps = []string{OpClaim, OpComplete, OpFail, OpWait}

// KnownOps are every operation of this protocol version.
var KnownOps = []string{OpClaim, OpComplete, OpFail, OpWait, OpInspect, OpForget, OpRecreate, OpRenew}

// Features a driver may declare beside its ops.
const (
	// FeatureTokens: claims and failures carry the attempt's token, and a
	// wait with "after" ignores failures of attempts up to that token.
	FeatureTokens = "tokens"
	// FeatureLeases: a claim lasts lease_ms unless renewed; once it has
	// run out, another claimer becomes owner (the state is "expired").
	// Without it, the scenarios that need an owner's claim to run out
	// (takeover after a dead or stalled owner) do not apply.
	FeatureLeases = "leases"
)

// Init is readiness's first line to a driver.
type Init struct {
	Type     string `json:"type"` // "init"
	Protocol int    `json:"protocol"`
	// Node names the simulated router this process plays.
	Node string `json:"node,omitempty"`
}

// Hello is the driver's answer to Init.
type Hello struct {
	Type     string   `json:"type"` // "init_ok"
	Protocol int      `json:"protocol"`
	Ops      []string `json:"ops"`
	Features []string `json:"features,omitempty"`
	// Durable: the store survives the driver process being killed (an
	// output committed before a SIGKILL is still there afterwards).
	Durable bool `json:"durable"`
	// Name and Version describe the ledger, for the evidence.
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// Supports reports whether the driver declared op (or feature).
func (h Hello) Supports(op string) bool {
	return slices.Contains(h.Ops, op) || slices.Contains(h.Features, op)
}

// Check validates a handshake: the right type and version, the core ops,
// and no op this version does not know.
func (h Hello) Check() error {
	if h.Type != "init_ok" {
		return fmt.Errorf("first line is of type %q, want \"init_ok\"", h.Type)
	}
	if h.Protocol != Version {
		return fmt.Errorf("speaks protocol version %d; readiness speaks %d", h.Protocol, Version)
	}
	var missing []string
	for _, op := range CoreOps {
		if !slices.Contains(h.Ops, op) {
			missing = append(missing, op)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("lacks the core ops %v (every driver needs %v)", missing, CoreOps)
	}
	for _, op := range h.Ops {
		if !slices.Contains(KnownOps, op) {
			return fmt.Errorf("declares op %q, which protocol version %d does not have", op, Version)
		}
	}
	return nil
}

// Request is one operation.
type Request struct {
	ID    int64  `json:"id"`
	Op    string `json:"op"`
	Key   string `json:"key"`
	Owner string `json:"owner,omitempty"`
	// Output of complete, base64 (outputs are bytes; may be empty).
	Output  *[]byte `json:"output,omitempty"`
	Message string  `json:"message,omitempty"`
	LeaseMS int64   `json:"lease_ms,omitempty"`
	// TimeoutMS bounds a wait.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// After: a wait ignores failed attempts with a token up to this one.
	After int64 `json:"after,omitempty"`
}

// States a reply reports for its key.
const (
	StateAbsent    = "absent"
	StateRunning   = "running"
	StateExpired   = "expired"
	StateFailed    = "failed"
	StateCompleted = "completed"
)

// Error kinds.
const (
	ErrFailed     = "failed"      // wait: the owner failed
	ErrTimeout    = "timeout"     // wait: the deadline passed
	ErrNotOwner   = "not_owner"   // complete/fail/renew by someone not holding the attempt
	ErrCompleted  = "completed"   // fail/renew of a key that already has an output
	ErrStore      = "store"       // the store failed (locked, disconnected, corrupt)
	ErrBadRequest = "bad_request" // the driver could not parse the request
	ErrUnknownOp  = "unsupported" // an op the driver does not have
)

// Error is a reply's typed error.
type Error struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	// Token of the failed attempt (kind failed, feature tokens).
	Token int64 `json:"token,omitempty"`
	// Key, State and WaitedMS describe a timeout (kind timeout): the key
	// waited for, the last state the waiter saw, and how long it waited.
	// readiness judges these fields, not the message's wording.
	Key      string `json:"key,omitempty"`
	State    string `json:"state,omitempty"`
	WaitedMS int64  `json:"waited_ms,omitempty"`
}

func (e *Error) Error() string { return e.Kind + ": " + e.Message }

// Reply is the driver's answer to one request, or (Event "waiting") the
// news that a wait is in place.
type Reply struct {
	ID    int64  `json:"id"`
	Event string `json:"event,omitempty"`
	// State of the key as the operation left or saw it.
	State string `json:"state,omitempty"`
	// Owned: claim made the caller the owner.
	Owned bool `json:"owned,omitempty"`
	// Stored: complete stored this output (false: one was already there).
	Stored bool `json:"stored,omitempty"`
	// Output, base64, present when the state is completed.
	Output *[]byte `json:"output,omitempty"`
	// Owner of the running/failed attempt or of the output.
	Owner string `json:"owner,omitempty"`
	// Token of the attempt (feature tokens).
	Token int64 `json:"token,omitempty"`
	// Failure message of a failed attempt (inspect, claim).
	Failure string `json:"failure,omitempty"`
	// Source of a wait's output: shared (arrived while waiting) or
	// replayed (already there).
	Source string `json:"source,omitempty"`
	Error  *Error `json:"error,omitempty"`
}

// EventWaiting is sent by a wait once it is in place.
const EventWaiting = "waiting"

var validStates = []string{"", StateAbsent, StateRunning, StateExpired, StateFailed, StateCompleted}

// MaxLine bounds one protocol line (an output is at most this, base64).
const MaxLine = 64 << 20

// DecodeReply parses one line from a driver strictly: one JSON object,
// known fields only, a positive id, a known state, an error with a kind.
func DecodeReply(line []byte) (Reply, error) {
	var r Reply
	if err := decodeStrict(line, &r); err != nil {
		return Reply{}, err
	}
	if r.ID <= 0 {
		return Reply{}, fmt.Errorf("reply without a positive id")
	}
	if !slices.Contains(validStates, r.State) {
		return Reply{}, fmt.Errorf("reply %d: unknown state %q", r.ID, r.State)
	}
	if r.Event != "" && r.Event != EventWaiting {
		return Reply{}, fmt.Errorf("reply %d: unknown event %q", r.ID, r.Event)
	}
	if r.State == StateCompleted && r.Output == nil && r.Error == nil {
		// An absent output must not read as an empty one.
		return Reply{}, fmt.Errorf("reply %d: state completed without an output (send \"\" for an empty one)", r.ID)
	}
	if r.Error != nil && r.Error.Kind == "" {
		return Reply{}, fmt.Errorf("reply %d: error without a kind", r.ID)
	}
	return r, nil
}

// DecodeHello parses a driver's handshake line.
func DecodeHello(line []byte) (Hello, error) {
	var h Hello
	if err := decodeStrict(line, &h); err != nil {
		return Hello{}, err
	}
	return h, h.Check()
}

// DecodeRequest parses one request line (the driver side).
func DecodeRequest(line []byte) (Request, error) {
	var r Request
	if err := decodeStrict(line, &r); err != nil {
		return Request{}, err
	}
	if r.ID <= 0 {
		return Request{}, errors.New("request without a positive id")
	}
	return r, nil
}

// DecodeInit parses readiness's init line (the driver side).
func DecodeInit(line []byte) (Init, error) {
	var in Init
	if err := decodeStrict(line, &in); err != nil {
		return Init{}, err
	}
	if in.Type != "init" {
		return Init{}, fmt.Errorf("first line is of type %q, want \"init\"", in.Type)
	}
	return in, nil
}

func decodeStrict(line []byte, v any) error {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return fmt.Errorf("not a JSON object: %s", quote(line))
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON %s: %v", quote(line), err)
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON value on a line: %s", quote(line))
	}
	return nil
}

// quote shortens a line for an error message.
func quote(b []byte) string {
	if len(b) > 120 {
		return fmt.Sprintf("%q…", b[:120])
	}
	return fmt.Sprintf("%q", b)
}

// Bytes returns a pointer to a copy of b that encodes as base64 even when
// empty (an empty output is an output).
func Bytes(b []byte) *[]byte {
	c := append([]byte{}, b...)
	return &c
}
