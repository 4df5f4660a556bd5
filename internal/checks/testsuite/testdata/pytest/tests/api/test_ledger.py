import pytest


def test_wait_for_inflight_preserves_completed_output_after_restart_failure():
    assert "done" == "done"


def test_dedupes_concurrent_requests():
    state = "pending"
    assert state == "done"


@pytest.fixture
def broken_db():
    raise RuntimeError("cannot open ledger.db")


def test_uses_db(broken_db):
    pass


@pytest.mark.skip(reason="journal replay not implemented")
def test_replays_journal():
    pass


@pytest.mark.xfail(reason="known race, issue 12")
def test_known_race():
    assert False


@pytest.mark.xfail(reason="fixed already?")
def test_unexpected_pass():
    pass


@pytest.mark.parametrize("name", ["ünïcode ✓", 'quote"s & <angles>', "a/b::c"])
def test_odd_names(name):
    assert name


class TestLedgerRestart:
    def test_waiters_receive_output(self):
        assert True
