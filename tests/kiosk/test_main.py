"""`cx-kiosk --screenshot`: every screen in every language, as real PNGs."""
from PySide6.QtGui import QImage

from conftest import DEMO
from kiosk.__main__ import main


def test_screenshot_renders_every_screen_in_both_languages(tmp_path, qapp):
    assert main(["--config", str(DEMO), "--screenshot", str(tmp_path), "--size", "1280x800"]) == 0
    files = sorted(p.name for p in tmp_path.glob("*.png"))
    screens = {name.rsplit("-", 2)[0] for name in files}
    assert {"attract", "score", "followup-detractor", "csat", "ces", "thanks-promoter",
            "unavailable", "pin", "admin"} <= screens
    assert {name.rsplit("-", 2)[1] for name in files} == {"vi", "en"}
    image = QImage(str(tmp_path / "score-vi-1280x800.png"))
    assert (image.width(), image.height()) == (1280, 800)


def test_bad_config_exits_with_a_message(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[station]\norg = "x"\n')
    assert main(["--config", str(bad)]) == 2
    assert "bad config" in capsys.readouterr().err
