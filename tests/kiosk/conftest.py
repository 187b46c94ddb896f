"""Real kiosk widgets offscreen, on a real SQLite file in a temp folder."""
import pytest

from kiosk_testlib import make_config


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path)


@pytest.fixture
def make_kiosk(qtbot):
    """make_kiosk(config) -> (window, writer), shown at 1280x800 and closed after the test."""
    from kiosk.service import build

    made = []

    def make(config):
        window, writer = build(config)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        qtbot.waitExposed(window)
        made.append((window, writer))
        return window, writer

    yield make
    for window, writer in made:
        writer.close()


@pytest.fixture
def kiosk(make_kiosk, config):
    return make_kiosk(config)
