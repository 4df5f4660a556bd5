"""The review's bug, kept for readiness's ledger conformance tests: the
same ledger as fixed_ledger.py, except that it believes the inflight row
before the output. The output of a completed generation is preserved, but
once a restarted router recreates the row as 'waiting' (and a new owner
then marks it 'error'), waiters see the row, not the output: they get the
new owner's error, or block until their timeout.
"""
from fixed_ledger import SharedLedger as _Fixed


class SharedLedger(_Fixed):
    def _lookup(self, db, key):
        st = self._row_state(db, key)
        if st["state"] in ("absent", "success"):  # only then is the output looked at
            out = db.execute("SELECT output, owner FROM outputs WHERE key=?", (key,)).fetchone()
            if out:
                return {"state": "completed", "output": bytes(out[0]), "owner": out[1]}
        return st
