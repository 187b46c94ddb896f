"""Issue 20: on every screen, at 1920x1080, 1280x800 and portrait 1080x1920, in Vietnamese and
English, no text is clipped or elided, no word is left alone on a line, and every touch target
is at least the minimum (tests/kiosk/layout_check.py says how each is judged).

The screens are the screenshot scenes (kiosk/screenshots.py SCENES): the attract screen, each
question, the follow-up of each group with its reasons, the comment on the keyboard, each
thank-you, the PIN pad, the admin dashboard per period, a case resolved on the keyboard, the
Goals page with a target on every KPI that can have one (seven cards) and its editor, the
Alerts page and its note on the keyboard. One real window per size on the screenshots' sample
database, put in each scene in turn.
"""
import pytest

from kiosk.i18n import Strings
from kiosk.screenshots import SCENES, SIZES, Stage, sample_config
from kiosk_testlib import make_config
from station.targets import TARGET_KPIS
from layout_check import check_window

LANGUAGES = ("vi", "en")
CASES = [(scene, lang, size) for size in SIZES for lang in LANGUAGES for scene in SCENES]


@pytest.fixture(scope="module")
def stage(qapp, tmp_path_factory):
    """stage(size) -> the Stage of that size (made once, kept for the module)."""
    config = make_config(tmp_path_factory.mktemp("layout"))
    made = {}
    with sample_config(config) as sample:
        def get(size):
            if size not in made:
                made[size] = Stage(sample, size)
            return made[size]

        yield get
        for one in made.values():
            one.close()


@pytest.fixture(scope="module")
def sources():
    """The translations: an '…' of theirs is meant, any other is an elision."""
    strings = Strings.load(list(LANGUAGES))
    return [text for table in strings.tables.values() for text in table.values()
            if isinstance(text, str)]


@pytest.mark.parametrize("scene,lang,size", CASES,
                         ids=[f"{s}-{lang}-{w}x{h}" for s, lang, (w, h) in CASES])
def test_nothing_clipped_elided_or_alone_and_every_target_touch_sized(stage, sources, scene,
                                                                      lang, size):
    shown = stage(size)
    shown.show(scene, lang)
    where = f"{scene}/{lang}/{size[0]}x{size[1]}"
    problems = check_window(shown.window, where, sources=sources, size=size)
    assert not problems, f"{len(problems)} layout problem(s):\n" + "\n".join(problems)


def test_every_scene_is_checked():
    assert {scene for scene, _, _ in CASES} == set(SCENES)
    assert {"attract", "score", "followup-detractor", "followup-passive", "followup-promoter",
            "followup-keyboard", "csat", "ces", "thanks-promoter", "thanks-passive",
            "thanks-detractor", "pin", "admin-today", "admin", "admin-30d",
            "admin-case-keyboard", "admin-goals", "admin-goal-editor", "admin-goal-editor-week",
            "admin-alerts"} <= set(SCENES)
    assert set(SIZES) == {(1920, 1080), (1280, 800), (1080, 1920)}


@pytest.mark.parametrize("scene", ["admin-goals", "admin-goal-editor", "admin-goal-editor-week"])
def test_the_goals_scenes_show_a_card_for_every_kpi_that_can_have_a_target(stage, scene):
    shown = stage((1280, 800))
    shown.show(scene, "en")
    goals = shown.window.screens["admin"].goals
    assert [kpi for kpi, card in goals.cards.items()
            if card.isVisibleTo(shown.window)] == list(TARGET_KPIS)
    assert goals.editor.isVisibleTo(shown.window) == (scene != "admin-goals")
