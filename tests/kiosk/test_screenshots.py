"""The screenshots: the sample (whatever the hour, the admin screen has every figure to draw)
and the set `python -m kiosk.screenshots` makes (every scene at 1920x1080, 1280x800 and
1080x1920 in Vietnamese and English, the README's among them)."""
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from kiosk.dashboard import Dashboard
from kiosk.screenshots import (NAME, SAMPLE_PERIOD, SAMPLE_RESPONSES, SCENES, SIZES, Stage,
                               _sample_store, file_name, main, remove_stale, render_all,
                               sample_config)
from kiosk_testlib import make_config
from station.store import Store


@pytest.mark.parametrize("after_midnight", [timedelta(minutes=20), timedelta(hours=15)])
def test_sample_fills_the_admin_period_whatever_the_hour(tmp_path, after_midnight):
    config = make_config(tmp_path)
    now = (datetime(2026, 3, 2, tzinfo=config.tz) + after_midnight).timestamp()
    sample = _sample_store(config, tmp_path, now=now)
    assert sample.database.path != config.database.path
    store = Store.open(sample)
    try:
        figures = Dashboard(sample).figures(store, SAMPLE_PERIOD, now=now)
        outbox = store.outbox_status()
    finally:
        store.close()
    assert 0.8 * SAMPLE_RESPONSES < figures.totals["responses"] <= SAMPLE_RESPONSES
    assert figures.nps.shown
    assert figures.entries > 0 and len(figures.traffic_by_hour) >= 8
    assert figures.totals["linked"] > 0 and figures.nps_by_age
    assert outbox["pending"] == 0


# -- every screen, at every size, in both languages (issue 20) ------------------------------
README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_set_is_every_scene_at_the_three_sizes_in_both_languages():
    assert SIZES == ((1920, 1080), (1280, 800), (1080, 1920))
    assert len(SCENES) == len(set(SCENES))
    for scene in SCENES:
        name = file_name(scene, "vi", (1080, 1920))
        match = NAME.match(name)
        assert match and match["scene"] == scene and match["lang"] == "vi", name


def test_the_readme_shows_only_screenshots_the_command_makes():
    made = {file_name(scene, lang, size) for scene in SCENES for lang in ("vi", "en")
            for size in SIZES}
    shown = set(re.findall(r"kiosk/screenshots/([^)\s]+\.png)", README.read_text("utf-8")))
    assert shown, "the README shows some screenshots"
    assert shown <= made, sorted(shown - made)


def test_render_all_draws_the_scenes_asked_for_at_their_exact_size(tmp_path, qapp):
    config = make_config(tmp_path)
    picked = {("attract", "vi", (1080, 1920)), ("thanks-passive", "en", (1280, 800)),
              ("admin-case-keyboard", "en", (1280, 800))}
    paths = render_all(config, tmp_path / "out", sizes=[(1280, 800), (1080, 1920)],
                       keep=lambda name, lang, size: (name, lang, size) in picked)
    assert sorted(p.name for p in paths) == sorted(file_name(*one) for one in picked)
    for scene, lang, (w, h) in picked:
        image = QImage(str(tmp_path / "out" / file_name(scene, lang, (w, h))))
        assert (image.width(), image.height()) == (w, h)


def test_every_scene_can_be_reached_in_both_languages(tmp_path, qapp):
    """Each scene puts the window on the screen it is named after (a cheap run at one size)."""
    config = make_config(tmp_path)
    with sample_config(config) as sample:
        stage = Stage(sample, (1280, 800))
        try:
            for lang in ("vi", "en"):
                for scene in SCENES:
                    stage.show(scene, lang)
                    # 'admin-goals' is on the admin screen, 'thanks-passive' on the thank-you
                    assert stage.window.current == scene.split("-")[0], scene
                    assert stage.window.lang == lang
        finally:
            stage.close()


def test_the_command_regenerates_into_a_folder_and_removes_only_stale_screenshots(tmp_path,
                                                                                  qapp):
    out = tmp_path / "shots"
    assert main(["--out", str(out), "--only", "thanks-detractor"]) == 0
    made = sorted(p.name for p in out.glob("*.png"))
    assert made == sorted(file_name("thanks-detractor", lang, size)
                          for lang in ("vi", "en") for size in SIZES)
    (out / "gone-scene-vi-1280x800.png").write_bytes(b"old")
    (out / "logo.png").write_bytes(b"not a screenshot")
    removed = remove_stale(out, [out / name for name in made])
    assert [p.name for p in removed] == ["gone-scene-vi-1280x800.png"]
    assert (out / "logo.png").exists()
