#!/usr/bin/env python3
"""A readiness ledger driver (protocol 1, docs/gates/ledger-driver.md) for a
SharedLedger-shaped ledger: create_inflight, mark_inflight_success,
mark_inflight_error, wait_for_inflight, recreate_inflight. Adapt the
OPS table below to your own class. Standard library only.

    python3 ledger_driver.py --ledger fixed_ledger:SharedLedger --db /tmp/ledger.db
"""
import argparse
import base64
import importlib
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def state(st):
    """A ledger state dict as the protocol's reply fields."""
    reply = {"state": st["state"]}
    if st.get("owner"):
        reply["owner"] = st["owner"]
    if st.get("attempt"):
        reply["token"] = st["attempt"]
    if st.get("error"):
        reply["failure"] = st["error"]
    if st["state"] == "completed":
        reply["output"] = base64.b64encode(st["output"]).decode()
    return reply


def claim(lg, req, waiting):
    owned, st = lg.create_inflight(req["key"], req["owner"], req.get("lease_ms", 0) / 1000 or None)
    return dict(state(st), owned=owned)


def complete(lg, req, waiting):
    stored, st = lg.mark_inflight_success(req["key"], req["owner"], base64.b64decode(req.get("output", "")))
    return dict(state(st), stored=stored)


def wait(lg, req, waiting):
    waiting()  # polling from now on: any later change will be seen
    out = lg.wait_for_inflight(req["key"], POLL, req.get("timeout_ms", 30000) / 1000, req.get("after", 0))
    return {"state": "completed", "output": base64.b64encode(out).decode()}


OPS = {
    "claim": claim,
    "complete": complete,
    "fail": lambda lg, req, w: state(lg.mark_inflight_error(req["key"], req["owner"], req.get("message", ""))),
    "wait": wait,
    "inspect": lambda lg, req, w: state(lg.get_inflight(req["key"])),
    "forget": lambda lg, req, w: lg.clear_inflight(req["key"]) or {},
    "recreate": lambda lg, req, w: lg.recreate_inflight(req["key"], req["owner"], req.get("lease_ms", 0) / 1000 or None) or {},
    "renew": lambda lg, req, w: lg.renew_inflight(req["key"], req["owner"], req.get("lease_ms", 0) / 1000 or None) or {},
}

# Exception class name -> protocol error kind; anything else is a store fault.
KINDS = {"InflightFailed": "failed", "InflightTimeout": "timeout", "NotOwner": "not_owner", "AlreadyCompleted": "completed"}
POLL = 0.05  # seconds between polls, as the reviewed router did


def main():
    global POLL
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ledger", default="fixed_ledger:SharedLedger", help="module:Class of the ledger")
    ap.add_argument("--db", required=True, help="SQLite file the ledger uses")
    ap.add_argument("--poll", type=float, default=POLL, help="wait_for_inflight poll interval, seconds")
    ap.add_argument("--ops", default=",".join(OPS), help="ops to declare (to see what readiness does without one)")
    ap.add_argument("--features", default="tokens,leases",
                    help="features to declare: tokens (attempt tokens, wait after), leases (a claim runs out unless renewed)")
    args = ap.parse_args()
    POLL = args.poll
    module, cls = args.ledger.split(":")
    lg = getattr(importlib.import_module(module), cls)(args.db)
    ops = [op for op in args.ops.split(",") if op in OPS]
    lock = threading.Lock()

    def send(msg):
        with lock:
            sys.stdout.write(json.dumps(msg) + "\n")
            sys.stdout.flush()

    init = json.loads(sys.stdin.readline() or "{}")
    if init.get("type") != "init" or init.get("protocol") != 1:
        sys.exit(f"ledger_driver: expected init for protocol 1, got {init!r}")
    features = [f for f in args.features.split(",") if f]
    send({"type": "init_ok", "protocol": 1, "ops": ops, "features": features, "durable": True,
          "name": f"python {args.ledger} (SQLite)"})

    def serve(req):
        reply = {"id": req["id"]}
        try:
            if req["op"] not in ops:
                raise LookupError(f"unsupported op {req['op']!r}")
            reply.update(OPS[req["op"]](lg, req, lambda: send({"id": req["id"], "event": "waiting"})))
        except Exception as e:  # every failure is an answer, never silence
            kind = "unsupported" if isinstance(e, LookupError) else KINDS.get(type(e).__name__, "store")
            error = {"kind": kind, "message": str(e), "token": getattr(e, "attempt", 0)}
            if kind == "timeout":  # what readiness judges, not the wording
                error.update(key=e.key, state=e.state, waited_ms=int(e.waited * 1000))
            reply = {"id": req["id"], "error": error}
        send(reply)

    for line in sys.stdin:  # each request in its own thread: waits block only themselves
        threading.Thread(target=serve, args=(json.loads(line),), daemon=True).start()


if __name__ == "__main__":
    main()
