"""A database that cannot be written: polite screen, nothing committed is lost, retries."""
import resource
import signal

import pytest

from kiosk_testlib import read_store, tap
from station.store import Response


def quick_survey(qtbot, window, score):
    s = window.screens
    qtbot.waitUntil(lambda: window.current == "attract", timeout=6000)
    tap(qtbot, s["attract"])
    tap(qtbot, s["score"].scale.buttons[score])
    tap(qtbot, s["followup"].next)
    tap(qtbot, s["csat"].skip)
    tap(qtbot, s["ces"].skip)


def test_locked_database_shows_unavailable_then_saves_the_waiting_response(qtbot, kiosk,
                                                                           config):
    window, writer = kiosk
    writer.retry_timer.setInterval(300)
    quick_survey(qtbot, window, 9)                 # committed before the trouble
    window.thanks_timer.timeout.emit()
    other = read_store(config)
    hold = other.transaction()
    hold.__enter__()                               # another writer holds the write lock
    try:
        quick_survey(qtbot, window, 2)
        assert window.current == "unavailable"
        assert [r.nps for r in writer.pending] == [2]
        assert "locked" in writer.last_error
        tap(qtbot, window.screens["unavailable"])
        assert window.current == "unavailable"     # no new survey while one is waiting
    finally:
        hold.__exit__(None, None, None)
    qtbot.waitUntil(lambda: window.current == "attract", timeout=5000)
    assert writer.pending == []
    rows = read_store(config).recent_responses()
    assert sorted(r["nps"] for r in rows) == [2, 9]
    assert len(read_store(config).cases(0, 2e9)) == 1
    # cx-watch learns of the failed writes from the kiosk's health row (its alert rule)
    health = read_store(config).health()["kiosk"]
    assert health["write_errors"] == writer.write_errors >= 1
    assert "locked" in health["last_write_error"]


@pytest.fixture
def full_disk():
    """Make every file write beyond 1 kB fail with EFBIG (what SQLite reports as 'full')."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def fill():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, old_limit[1]))

    def free():
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)

    yield fill, free
    free()
    signal.signal(signal.SIGXFSZ, old_handler)


def test_full_disk_shows_unavailable_and_nothing_committed_is_lost_after_restart(
        qtbot, make_kiosk, config, full_disk):
    fill, free = full_disk
    window, writer = make_kiosk(config)
    writer.retry_timer.setInterval(300)
    quick_survey(qtbot, window, 10)
    window.thanks_timer.timeout.emit()
    fill()
    quick_survey(qtbot, window, 4)
    assert window.current == "unavailable"
    assert [r.nps for r in writer.pending] == [4]
    assert "disk" in writer.last_error or "full" in writer.last_error
    qtbot.wait(700)                                  # retries keep failing, no crash
    assert window.current == "unavailable" and len(writer.pending) == 1
    free()
    qtbot.waitUntil(lambda: window.current == "attract", timeout=5000)
    writer.close()
    window.close()

    window2, writer2 = make_kiosk(config)            # a restart on the same file
    rows = read_store(config).recent_responses()
    assert sorted(r["nps"] for r in rows) == [4, 10]
    assert window2.current == "attract"


def test_response_committed_before_the_disk_filled_survives_a_restart_without_recovery(
        qtbot, make_kiosk, config, full_disk):
    fill, free = full_disk
    window, writer = make_kiosk(config)
    quick_survey(qtbot, window, 7)
    window.thanks_timer.timeout.emit()
    fill()
    quick_survey(qtbot, window, 1)
    assert window.current == "unavailable"
    writer.close()                                   # power cut while still full
    window.close()
    free()
    (row,) = read_store(config).recent_responses()
    assert row["nps"] == 7 and row["complete"]


def test_a_commit_reported_as_failed_but_on_disk_is_not_written_twice(qtbot, config):
    from kiosk.writer import ResponseWriter
    from station.store import Store

    response = Response(nps=8, language="en")
    read_store(config).append_response(response)     # it got there, the caller never heard
    writer = ResponseWriter(lambda: Store.open(config))
    committed = []
    writer.committed.connect(lambda r, case: committed.append(r.id))
    assert writer.submit(response)
    assert committed == [response.id] and writer.pending == []
    assert len(read_store(config).recent_responses()) == 1
    writer.close()
