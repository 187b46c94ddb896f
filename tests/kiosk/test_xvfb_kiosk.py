"""The real kiosk window on a virtual X screen (Xvfb), driven by real pointer input (xdotool):
two shoppers and then the manager, checked in the station database.

The kiosk runs in its own process, started as `cx-kiosk` starts it (tests/kiosk/
xdotool_driver.py); the taps are X pointer events at widget centres, the comments and the
manager's note are typed by tapping the on-screen keyboard's keys, and the PIN pad is
reached by holding the hidden staff corner. Latencies (tap -> next screen painted) are
printed and kept in the run's JSON, never asserted: targets belong to bench/kiosk_xdotool.py.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from xdotool_driver import NOTE, drive_kiosk, scripted_plans
from xvfb_display import missing_tools

from station.config import load_config
from station.kpi import percentile
from station.store import Store

ROOT = Path(__file__).resolve().parents[2]
MISSING = missing_tools()
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"{' and '.join(MISSING)} not installed (Debian packages xvfb, "
                          "xdotool; `make system-deps` installs them)")

SURVEY_SCREENS = ["score", "followup", "keyboard", "csat", "ces", "thanks", "attract"]
MANAGER_SCREENS = ["pin", "admin", "admin keyboard", "admin resolved", "attract"]


@pytest.fixture(scope="module")
def driven(tmp_path_factory):
    """One run: a promoter, a detractor, then the manager resolving the detractor's case."""
    folder = tmp_path_factory.mktemp("xvfb-kiosk")
    results = drive_kiosk(folder, scripted_plans(), manager=True, timeout_s=150)
    times = [s["tap_to_paint_ms"] for s in results["steps"]]
    print(f"\ntap -> next screen painted over {len(times)} taps: p50 "
          f"{percentile(times, 50):.1f} ms, p99 {percentile(times, 99):.1f} ms; "
          f"every tap in {folder / 'xdotool-results.json'}")
    print(json.dumps(results["steps"], ensure_ascii=False))
    store = Store.open(load_config(folder / "station.toml"))
    yield results, store
    store.close()


def test_both_shoppers_and_the_manager_reach_every_screen_by_real_taps(driven):
    results, _ = driven
    assert results["reached"] == ["attract"] + SURVEY_SCREENS * 2 + MANAGER_SCREENS
    assert [(t["score"], t["qr"]) for t in results["facts"]["thanks_qr"]] == [(10, True),
                                                                            (3, False)]
    assert results["error"] is None and results["exit_code"] == 0


def test_answers_and_comments_typed_on_the_on_screen_keyboard_are_stored(driven):
    results, store = driven
    assert results["facts"]["comments_typed"] == ["rất tốt", "chờ lâu"]
    detractor, promoter = store.recent_responses()
    assert {k: promoter[k] for k in ("nps", "csat", "ces", "reasons", "comment", "language",
                                     "complete")} == {
        "nps": 10, "csat": 5, "ces": 7, "reasons": ["clean"], "comment": "rất tốt",
        "language": "vi", "complete": True}
    assert {k: detractor[k] for k in ("nps", "csat", "ces", "reasons", "comment", "language",
                                      "complete")} == {
        "nps": 3, "csat": 2, "ces": 3, "reasons": ["wait", "stock"], "comment": "chờ lâu",
        "language": "vi", "complete": True}


def test_manager_resolves_the_detractors_case_with_a_note_typed_on_screen(driven):
    results, store = driven
    (case,) = store.cases(0, 2e9)
    detractor = store.recent_responses()[0]
    assert case.response_id == detractor["id"] and case.nps == 3
    assert case.reasons == ["wait", "stock"] and case.comment == "chờ lâu"
    assert case.resolved_at is not None and case.resolution_note == NOTE
    assert results["facts"]["note_typed"] == NOTE and results["facts"]["case_resolved_on_screen"]
    statuses = [json.loads(e.payload)["data"]["status"] for e in store.pending_outbox()
                if e.type == "case"]
    assert statuses == ["opened", "resolved"]


def test_every_tap_that_changes_the_screen_is_timed_to_its_first_paint(driven):
    results, _ = driven
    steps = [s["step"] for s in results["steps"]]
    survey = ["attract>score", "score>followup", "comment>keyboard", "followup>csat",
              "csat>ces", "ces>thanks", "thanks>attract"]
    assert steps == survey * 2 + ["pin ok>admin", "note>keyboard", "resolve>case list",
                                  "admin close>attract"]
    assert all(s["tap_to_paint_ms"] > 0 for s in results["steps"])


@pytest.mark.slow
def test_bench_prints_one_json_object_last(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "kiosk_xdotool.py"), "--surveys", "2", "--json",
         "--keep", str(tmp_path)], capture_output=True, text=True, timeout=200)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["surveys"] == 2 and result["taps"] == 12
    assert set(result["steps"]) >= {"attract>score", "ces>thanks", "thanks>attract"}
    assert result["overall"]["p99"] >= result["overall"]["p50"] > 0
