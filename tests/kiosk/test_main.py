"""`cx-kiosk --screenshot`: every screen in every language, as real PNGs."""
from PySide6.QtGui import QImage

from kiosk_testlib import DEMO
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


def test_kiosk_process_tells_systemd_it_is_ready_pets_the_watchdog_and_stops_on_sigterm(
        tmp_path):
    import os
    import signal
    import socket
    import subprocess
    import sys

    config = tmp_path / "kiosk.toml"
    text = DEMO.read_text(encoding="utf-8").replace('"../var/demo/station.db"',
                                                    f'"{tmp_path / "station.db"}"')
    text = text.replace('camera = "../../shared/data/pets2009-s2l1/vtest.avi"', 'camera = ""')
    text = text.replace('logo = "demo-logo.svg"', f'logo = "{DEMO.parent / "demo-logo.svg"}"')
    config.write_text(text, encoding="utf-8")
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        sock.settimeout(30)
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "NOTIFY_SOCKET": address,
               "WATCHDOG_USEC": "2000000"}
        proc = subprocess.Popen([sys.executable, "-m", "kiosk", "--config", str(config)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            messages = [sock.recv(4096).decode()]
            assert messages[0].startswith("READY=1")
            messages.append(sock.recv(4096).decode())
            assert messages[1] == "WATCHDOG=1"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert sock.recv(4096).decode() == "STOPPING=1"
