"""A small SQLite inflight-deduplication ledger with the shape of the
reviewed router's SharedLedger (create_inflight, mark_inflight_success,
mark_inflight_error, wait_for_inflight; rows recreated as 'waiting' when a
router restarts) -- with the review's bug fixed: outputs live in their own
table and every read consults the output before the inflight row, so a
recreated 'waiting' row can no longer hide a completed generation.

Written for readiness's ledger conformance tests; standard library only.
"""
import sqlite3
import threading
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS inflight (key TEXT PRIMARY KEY, status TEXT NOT NULL, owner TEXT,
    attempt INTEGER NOT NULL, error TEXT, lease_until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outputs (key TEXT PRIMARY KEY, output BLOB NOT NULL, owner TEXT);
"""


class InflightFailed(Exception):
    def __init__(self, message, attempt):
        super().__init__(message)
        self.attempt = attempt


class InflightTimeout(Exception):
    def __init__(self, message, key, state, waited):
        super().__init__(message)
        self.key, self.state, self.waited = key, state, waited


class NotOwner(Exception):
    pass


class AlreadyCompleted(Exception):
    pass


class SharedLedger:
    def __init__(self, path, lease=30.0):
        self.path, self.lease, self.local = path, lease, threading.local()
        self._db().executescript(SCHEMA)

    def _db(self):
        if not hasattr(self.local, "db"):  # one connection per thread
            db = sqlite3.connect(self.path, timeout=15, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            self.local.db = db
        return self.local.db

    def _tx(self, fn):
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(db)
            db.execute("COMMIT")
            return result
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _lookup(self, db, key):
        """The key's state. The output comes first: it is terminal."""
        out = db.execute("SELECT output, owner FROM outputs WHERE key=?", (key,)).fetchone()
        if out:
            return {"state": "completed", "output": bytes(out[0]), "owner": out[1]}
        return self._row_state(db, key)

    def _row_state(self, db, key):
        row = db.execute("SELECT status, owner, attempt, error, lease_until FROM inflight WHERE key=?", (key,)).fetchone()
        if row is None:
            return {"state": "absent"}
        status, owner, attempt, error, lease_until = row
        state = {"waiting": "running" if lease_until > time.time() else "expired", "error": "failed"}.get(status, status)
        return {"state": state, "owner": owner, "attempt": attempt, "error": error}

    def _start_attempt(self, db, key, owner, lease):
        db.execute("INSERT INTO inflight VALUES (?, 'waiting', ?, 1, NULL, ?) ON CONFLICT(key) DO UPDATE SET "
                   "status='waiting', owner=excluded.owner, attempt=attempt+1, error=NULL, lease_until=excluded.lease_until",
                   (key, owner, time.time() + (lease or self.lease)))

    def create_inflight(self, key, owner, lease=None):
        """Claim key: (True, state) makes owner the generator; (False, state) means use
        the output (state 'completed') or wait for the live owner."""
        def claim(db):
            st = self._lookup(db, key)
            if st["state"] == "completed" or (st["state"] == "running" and st["owner"] != owner):
                return False, st
            if st["state"] == "running":  # the same owner again: extend its lease
                db.execute("UPDATE inflight SET lease_until=? WHERE key=?", (time.time() + (lease or self.lease), key))
            else:
                self._start_attempt(db, key, owner, lease)
            return True, self._lookup(db, key)
        return self._tx(claim)

    def recreate_inflight(self, key, owner, lease=None):
        """What a restarted router does for the requests it had in flight."""
        self._tx(lambda db: self._start_attempt(db, key, owner, lease))

    def clear_inflight(self, key):
        self._tx(lambda db: db.execute("DELETE FROM inflight WHERE key=?", (key,)))

    def renew_inflight(self, key, owner, lease=None):
        def renew(db):
            st = self._lookup(db, key)
            if st["state"] == "completed":
                raise AlreadyCompleted(f"key {key!r} already has an output")
            if st["state"] not in ("running", "expired") or st["owner"] != owner:
                raise NotOwner(f"{owner} does not hold key {key!r}")
            db.execute("UPDATE inflight SET lease_until=? WHERE key=?", (time.time() + (lease or self.lease), key))
        self._tx(renew)

    def mark_inflight_success(self, key, owner, output):
        """Store output; the first output wins. Returns (stored, state)."""
        def complete(db):
            stored = db.execute("INSERT OR IGNORE INTO outputs VALUES (?, ?, ?)", (key, output, owner)).rowcount == 1
            db.execute("UPDATE inflight SET status='success' WHERE key=?", (key,))
            return stored, self._lookup(db, key)
        return self._tx(complete)

    def mark_inflight_error(self, key, owner, message):
        def fail(db):
            st = self._lookup(db, key)
            if st["state"] == "completed":
                raise AlreadyCompleted(f"key {key!r} already has an output")
            if st["state"] not in ("running", "expired") or st["owner"] != owner:
                raise NotOwner(f"{owner} does not hold key {key!r}")
            db.execute("UPDATE inflight SET status='error', error=? WHERE key=?", (message, key))
            return self._lookup(db, key)
        return self._tx(fail)

    def get_inflight(self, key):
        return self._lookup(self._db(), key)

    def wait_for_inflight(self, key, poll_interval=0.05, timeout=30.0, after=0):
        """Poll until key has an output (returned) or a failure of an attempt newer than
        `after` (InflightFailed); InflightTimeout after `timeout` seconds."""
        start = time.monotonic()
        while True:
            st = self._lookup(self._db(), key)
            if st["state"] == "completed":
                return st["output"]
            if st["state"] == "failed" and st["attempt"] > after:
                raise InflightFailed(f"key {key!r}: generation by {st['owner']} failed: {st['error']}", st["attempt"])
            left = timeout - (time.monotonic() - start)
            if left <= 0:
                waited = time.monotonic() - start
                raise InflightTimeout(f"wait for key {key!r} timed out after {waited:.3f}s; last state: {st['state']}",
                                      key, st["state"], waited)
            time.sleep(min(poll_interval, left))
