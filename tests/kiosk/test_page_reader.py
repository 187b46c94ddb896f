"""kiosk/reader.py's PageReader on a real SQLite file: the result shown on the GUI thread, a
read asked for while one runs made once that one is shown, a database error shown as such."""
import sqlite3
import threading

from kiosk.reader import PageReader
from station.store import Store


def test_a_read_asked_for_while_one_runs_is_made_after_it_on_the_gui_thread(qtbot, config):
    Store.open(config).close()                    # the schema, as the kiosk's writer makes it
    gate, shown, again = threading.Event(), [], []
    pages = PageReader(config, "test-read", again=lambda: again.append(True))
    gui = threading.current_thread()

    def work(store):
        gate.wait(5)
        return store.db.execute("SELECT count(*) FROM responses").fetchone()[0]

    def show(result):
        shown.append((result, threading.current_thread() is gui))

    assert pages.read(work, show)
    assert pages.busy
    assert not pages.read(work, show)             # the first still runs: asked for later
    assert not again
    gate.set()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert shown == [(0, True)]
    assert not pages.busy and again == [True]
    # asked for once, made once
    assert pages.read(work, show)
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=5000)
    assert again == [True]
    pages.close()


def test_a_busy_read_without_retry_is_dropped_and_an_error_is_shown(qtbot, config):
    gate, shown, again = threading.Event(), [], []
    pages = PageReader(config, "test-read", again=lambda: again.append(True))

    def fail(store):
        gate.wait(5)
        raise sqlite3.OperationalError("database is locked")

    assert pages.read(fail, shown.append)
    assert not pages.read(fail, shown.append, retry=False)
    gate.set()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert isinstance(shown[0], sqlite3.OperationalError)
    assert not again and not pages.busy
    pages.close()
