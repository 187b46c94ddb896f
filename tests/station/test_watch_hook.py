"""The local alert hook ([alerts] command): one run per alert change, the alert as JSON on
stdin; a slow or failing hook is logged and changes nothing else (station/watch/hook.py)."""
from __future__ import annotations

import json
import logging
import sys
import time

from station.config import load_config
from station.store import Response, Store
from station.watch import Watcher
from station.watch.hook import MARK

CONFIG = """
[station]
org = "acme"
store = "hcm-01"
id = "kiosk-1"
[database]
path = "station.db"
[alerts]
disk_free_min_mb = 0
command = {command}
command_timeout_s = {timeout}
command_on = {states}
"""

# Appends each alert it is given to out.jsonl; "slow" in the alert's comment makes it hang,
# "fail" makes it exit 3.
HOOK = """
import json, sys, time
alert = json.load(sys.stdin)
comment = (alert.get("context") or {}).get("comment") or ""
if "slow" in comment:
    time.sleep(30)
if "fail" in comment:
    print("webhook said 500", file=sys.stderr)
    sys.exit(3)
with open(sys.argv[1], "a", encoding="utf-8") as out:
    out.write(json.dumps(alert) + "\\n")
"""


def make(tmp_path, timeout=5.0, states=("open",)):
    script = tmp_path / "hook.py"
    script.write_text(HOOK, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    path = tmp_path / "station.toml"
    path.write_text(CONFIG.format(command=json.dumps([sys.executable, str(script), str(out)]),
                                  timeout=timeout, states=json.dumps(list(states))),
                    encoding="utf-8")
    config = load_config(path)
    store = Store.open(config)
    watcher = Watcher(config, store)
    watcher.check(time.time())            # the first check sets the mark: history is not news
    return store, watcher, out


def told(out) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def test_each_new_alert_runs_the_hook_once_with_the_alert_on_stdin(tmp_path):
    store, watcher, out = make(tmp_path)
    store.append_response(Response(nps=1, reasons=["wait"], comment="rude", language="en"))
    watcher.check(time.time())
    watcher.check(time.time())
    (alert,) = told(out)
    assert alert["kind"] == "detractor" and alert["state"] == "open"
    assert alert["station"] == "acme/hcm-01/kiosk-1"
    assert alert["context"]["comment"] == "rude" and alert["context"]["score"] == 1
    assert alert["first_seen"].endswith("Z")


def test_alerts_from_before_the_hook_existed_are_not_replayed(tmp_path):
    store, watcher, out = make(tmp_path)
    store.db.execute("DELETE FROM settings WHERE key = ?", (MARK,))
    store.append_response(Response(nps=1))            # before the hook's first run
    watcher.check(time.time())
    store.append_response(Response(nps=2, ts=time.time() + 1000))  # a repeat, told to HQ
    watcher.check(time.time())
    assert [a["count"] for a in told(out)] == [2]


def test_acknowledge_and_resolve_run_it_only_when_asked(tmp_path):
    store, watcher, out = make(tmp_path, states=("open", "resolved"))
    store.append_response(Response(nps=1))
    (alert,) = store.alerts()
    store.acknowledge_alert(alert.id, note="seen")
    store.close_alert(alert.id, note="called back")
    watcher.check(time.time())
    assert [(a["state"], a["note"]) for a in told(out)] == [("open", "called back"),
                                                            ("resolved", "called back")]


def test_a_hook_past_its_timeout_is_killed_and_the_next_alert_still_goes(tmp_path, caplog):
    store, watcher, out = make(tmp_path, timeout=0.5)
    store.append_response(Response(nps=1, comment="slow"))
    store.resolve_alert("detractor", store.station)
    store.append_response(Response(nps=2, comment="fine"))
    start = time.monotonic()
    with caplog.at_level(logging.WARNING):
        watcher.check(time.time())
    assert time.monotonic() - start < 10
    assert [a["context"]["comment"] for a in told(out)] == ["fine"]
    assert watcher.hook.stats["timeouts"] == 1 and "ran past 0.5 s" in caplog.text
    watcher.check(time.time())
    assert len(told(out)) == 1                  # neither alert is run again


def test_a_failing_hook_is_logged_and_changes_nothing_else(tmp_path, caplog):
    store, watcher, out = make(tmp_path)
    store.append_response(Response(nps=1, comment="fail"))
    with caplog.at_level(logging.WARNING):
        watcher.check(time.time())
    assert "exited 3" in caplog.text and "webhook said 500" in caplog.text
    assert watcher.hook.stats["failures"] == 1
    (alert,) = store.alerts()
    assert alert.state == "open"                  # the alert is as it was
    assert store.health()["watch"]["hook"]["failures"] == 1


def test_a_missing_hook_program_is_a_logged_failure(tmp_path, caplog):
    store, watcher, out = make(tmp_path)
    watcher.hook.argv = [str(tmp_path / "no-such-program")]
    store.append_response(Response(nps=1))
    with caplog.at_level(logging.WARNING):
        watcher.check(time.time())
    assert "could not start" in caplog.text and watcher.hook.stats["failures"] == 1


def test_the_documented_chat_webhook_example_posts_the_alert_without_the_comment(tmp_path):
    import http.server
    import threading
    from pathlib import Path
    posts = []

    class Chat(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Chat)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        store, watcher, out = make(tmp_path)
        script = Path(__file__).resolve().parents[2] / "config" / "hooks" / "chat-webhook.py"
        watcher.hook.argv = [sys.executable, str(script),
                             f"http://127.0.0.1:{server.server_port}/hooks/abc"]
        store.append_response(Response(nps=2, reasons=["wait"], comment="my phone: 0903"))
        watcher.check(time.time())
    finally:
        server.shutdown()
    assert watcher.hook.stats == {"runs": 1, "failures": 0, "timeouts": 0}
    (post,) = posts
    assert post["text"] == "[WARNING] acme/hcm-01/kiosk-1: a customer answered 2/10; reasons: wait"


def test_a_dead_webhook_cannot_hold_a_check_past_its_budget(tmp_path):
    store, watcher, out = make(tmp_path, timeout=0.4)
    for i in range(6):                        # six alerts whose hook hangs
        store.append_response(Response(nps=1, comment="slow"))
        store.resolve_alert("detractor", store.station)
    start = time.monotonic()
    assert watcher.hook.run_pending(store, budget_s=1.0) in (3, 4)
    assert time.monotonic() - start < 3
    assert watcher.hook.run_pending(store, budget_s=30) >= 2      # the rest, next check
    assert watcher.hook.stats["timeouts"] == 6
