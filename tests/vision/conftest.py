"""Shared fixtures for the vision tests: the PETS clip and the real person detector."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PETS = ROOT.parent / "shared" / "data" / "pets2009-s2l1"
VIDEO = PETS / "vtest.avi"
SCENE = ROOT / "vision" / "scenes" / "pets2009.json"
MODELS = ROOT / "models"


@pytest.fixture(scope="session")
def pets_video():
    if not VIDEO.exists():
        pytest.skip(f"PETS 2009 clip not present at {VIDEO}")
    return VIDEO


@pytest.fixture(scope="session")
def person_detector():
    try:
        from vision.detectors import DEFAULT_DETECTOR, load_person_detector
        return load_person_detector(DEFAULT_DETECTOR, MODELS, threads=2)
    except (ImportError, FileNotFoundError) as exc:
        pytest.skip(f"person detector not available ({exc}); run `cx-station models fetch`")


@pytest.fixture(scope="session")
def face_analyzer():
    """vision-A's analyzer when it and its models are there; None otherwise (faces off)."""
    try:
        from vision.faces import FaceAnalyzer
        return FaceAnalyzer(MODELS, 2)
    except (ImportError, FileNotFoundError, TypeError, ValueError):
        return None


@pytest.fixture(scope="session")
def scene_path():
    return SCENE
