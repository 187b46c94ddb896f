"""Faces on real FairFace photos (vision/faces): detection, alignment, age/gender, per-track views."""
import csv
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.detections import Detections

ROOT = Path(__file__).resolve().parents[2]
FAIRFACE = ROOT.parent / "shared" / "data" / "fairface-540"
PETS = ROOT.parent / "shared" / "data" / "pets2009-s2l1"
MODELS = ROOT / "models"


def _labels():
    if not (FAIRFACE / "labels.csv").is_file():
        pytest.skip(f"FairFace-540 not present at {FAIRFACE}")
    return list(csv.DictReader((FAIRFACE / "labels.csv").open()))


def _pick(rows, groups, n_per_gender):
    """First n images per gender in the given FairFace age groups (fixed order of the file)."""
    out = []
    for gender in ("female", "male"):
        out += [r for r in rows if r["age"] in groups and r["gender"] == gender][:n_per_gender]
    return out


def _image(row):
    return cv2.imread(str(FAIRFACE / "images" / row["file"]))


@pytest.fixture(scope="module")
def engine():
    from vision.faces import FaceEngine
    try:
        return FaceEngine(MODELS, threads=2)
    except FileNotFoundError as exc:
        pytest.skip(f"{exc}")


def test_centerface_finds_the_labelled_face_with_landmarks_inside_it(engine):
    rows = _pick(_labels(), {"20-29", "40-49"}, 3)
    for row in rows:
        image = _image(row)
        faces = engine.detector.detect(image, max_side=448)
        assert len(faces) >= 1, row["file"]
        face = faces[int(np.argmax(faces.area))]
        x1, y1, x2, y2 = face.xyxy[0]
        # FairFace centres the labelled face and it fills a good part of the 448 px crop.
        assert 60 < x2 - x1 < 400 and abs((x1 + x2) / 2 - 224) < 80, (row["file"], face.xyxy)
        lm = face.landmarks[0]
        assert ((lm[:, 0] > x1) & (lm[:, 0] < x2) & (lm[:, 1] > y1) & (lm[:, 1] < y2)).all()
        assert lm[0, 0] < lm[1, 0] and lm[3, 0] < lm[4, 0]          # left before right
        assert lm[:2, 1].max() < lm[2, 1] < lm[3:, 1].min()          # eyes above nose above mouth


def test_alignment_moves_the_landmarks_onto_the_template():
    from vision.faces.align import CHIP_PADDING, TEMPLATE, align_chip, chip_transform
    rng = np.random.default_rng(1)
    angle = np.deg2rad(20)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = (TEMPLATE - 0.5) @ rot.T * 90 + [200, 150] + rng.normal(0, 0.5, (5, 2))
    matrix = chip_transform(landmarks, 64)
    mapped = np.c_[landmarks, np.ones(5)] @ matrix.T
    expected = (CHIP_PADDING + TEMPLATE) / (1 + 2 * CHIP_PADDING) * 64
    assert np.abs(mapped - expected).max() < 1.5
    chip = align_chip(np.zeros((300, 400, 3), np.uint8), landmarks, 64)
    assert chip.shape == (64, 64, 3) and chip.dtype == np.uint8


def test_box_chip_is_the_scaled_square_around_the_box_padded_with_black():
    from vision.faces.align import box_chip
    image = np.zeros((100, 200, 3), np.uint8)
    image[20:60, 40:80] = (255, 0, 0)                      # a blue (BGR) 40 px square
    chip = box_chip(image, (40, 20, 80, 60), 112, scale=1.0)
    assert chip.shape == (112, 112, 3) and chip.dtype == np.uint8
    assert (chip[5:-5, 5:-5] == (0, 0, 255)).all()         # RGB now, and fills the chip
    corner = box_chip(image, (-20, -20, 20, 20), 112, scale=1.0)
    assert (corner[:50, :50] == 0).all()                   # outside the image is black


def test_age_confidence_is_a_distribution_over_the_brackets():
    from vision.faces.attributes import BRACKETS, age_confidence
    for age in (3.0, 24.4, 24.6, 40.0, 90.0):
        for sigma in (2.0, 7.0, 15.0):
            total = sum(age_confidence(age, sigma, b) for b in BRACKETS)
            assert abs(total - 1) < 1e-9
    # mid-bracket beats the edge, and a wider spread is less sure
    assert age_confidence(40.0, 7.0, "35-44") > age_confidence(35.0, 7.0, "35-44")
    assert age_confidence(40.0, 3.0, "35-44") > age_confidence(40.0, 7.0, "35-44") > 0.4


def test_gender_is_right_on_most_adult_faces(engine):
    from vision.faces import analyze_image
    rows = _pick(_labels(), {"30-39", "40-49", "50-59"}, 10)
    right = sum(analyze_image(_image(r), engine, max_side=448)[0].gender == r["gender"] for r in rows)
    # bench/faces_accuracy.py measures ~0.9 on these groups; chance is 0.5.
    assert right >= 15, f"{right}/20"


def test_predicted_age_orders_toddlers_adults_and_seniors(engine):
    from vision.faces import analyze_image
    rows = _labels()
    mean_age = {}
    for groups in ({"0-2"}, {"30-39"}, {"70+"}):
        faces = [analyze_image(_image(r), engine, max_side=448)[0] for r in _pick(rows, groups, 3)]
        mean_age[min(groups)] = np.mean([f.age for f in faces])
    assert mean_age["0-2"] < mean_age["30-39"] < mean_age["70+"], mean_age


def test_estimates_carry_a_bracket_consistent_with_the_age(engine):
    from vision.faces import BRACKETS, analyze_image, bracket_of
    face = analyze_image(_image(_labels()[0]), engine, max_side=448)[0]
    assert face.age_bracket in BRACKETS and face.age_bracket == bracket_of(face.age)
    assert 0 <= face.age_confidence <= 1 and 0.5 <= face.gender_confidence <= 1
    assert face.gender in ("female", "male")


def _scene_with_person(face_image, frame_size=(360, 480), box=(180, 60, 280, 330)):
    """A frame with one 'person': the face photo shrunk onto the top of a person-sized box."""
    frame = np.full((*frame_size, 3), 90, np.uint8)
    x1, y1, x2, y2 = box
    head = cv2.resize(face_image, (x2 - x1, x2 - x1), interpolation=cv2.INTER_AREA)
    frame[y1:y1 + head.shape[0], x1:x2] = head
    frame[y1 + head.shape[0]:y2, x1:x2] = (40, 60, 160)  # a red coat
    return frame


def test_analyzer_collects_views_per_track_and_aggregates_them(engine):
    from vision.faces import FaceAnalyzer
    row = _pick(_labels(), {"40-49"}, 1)[1]   # one adult male
    frame = _scene_with_person(_image(row))
    tracked = Detections(xyxy=[[180, 60, 280, 330]], confidence=[0.9], class_id=[0], tracker_id=[7])
    analyzer = FaceAnalyzer(MODELS, 2, max_faces_per_frame=2, views_per_track=3, revisit_frames=1,
                            engine=engine)
    assert analyzer.attributes(7) is None
    for _ in range(5):
        analyzer.update(frame, tracked)
    attrs = analyzer.attributes(7)
    assert attrs is not None and attrs.views == 3          # best views kept, not all
    assert attrs.gender == row["gender"]
    assert 20 <= attrs.age <= 70
    analyzer.forget(7)
    assert analyzer.attributes(7) is None


def test_an_unsure_gender_is_stored_as_unknown_and_the_age_is_kept(engine):
    from vision.faces import FaceAnalyzer
    row = _pick(_labels(), {"40-49"}, 1)[1]
    frame = _scene_with_person(_image(row))
    tracked = Detections(xyxy=[[180, 60, 280, 330]], confidence=[0.9], class_id=[0], tracker_id=[7])
    looks = {}
    for min_confidence in (0.5, 1.0):
        analyzer = FaceAnalyzer(MODELS, 2, revisit_frames=1, engine=engine,
                                gender_min_confidence=min_confidence)
        for _ in range(3):
            analyzer.update(frame, tracked)
        looks[min_confidence] = analyzer.attributes(7)
    decided, unsure = looks[0.5], looks[1.0]
    assert decided.gender == row["gender"] and 0.5 <= decided.gender_confidence < 1.0
    assert unsure.gender is None and unsure.gender_confidence is None
    assert unsure.age == pytest.approx(decided.age) and unsure.age_bracket == decided.age_bracket
    # the estimate behind the label is kept either way: the period's shares use it
    assert unsure.p_female == pytest.approx(decided.p_female)
    assert (unsure.p_female >= 0.5) == (row["gender"] == "female")
    assert max(unsure.p_female, 1 - unsure.p_female) == pytest.approx(decided.gender_confidence)
    from vision.faces import BRACKETS
    assert sum(unsure.age_probs) == pytest.approx(1, abs=1e-6) and len(unsure.age_probs) == len(BRACKETS)
    assert BRACKETS[int(np.argmax(unsure.age_probs))] == unsure.age_bracket
    assert max(unsure.age_probs) == pytest.approx(unsure.age_confidence)
    with pytest.raises(ValueError, match="gender_min_confidence"):
        FaceAnalyzer(MODELS, 2, engine=engine, gender_min_confidence=0.4)


def test_analyzer_spends_its_budget_on_tracks_without_views(engine):
    from vision.faces import FaceAnalyzer
    rows = _pick(_labels(), {"30-39"}, 2)
    frame = np.full((360, 640, 3), 90, np.uint8)
    boxes = [(20, 40, 120, 330), (220, 40, 320, 330), (420, 40, 520, 330)]
    for r, (x1, y1, x2, y2) in zip(rows, boxes):
        frame[y1:y1 + 100, x1:x2] = cv2.resize(_image(r), (100, 100), interpolation=cv2.INTER_AREA)
    tracked = Detections(xyxy=boxes, confidence=[0.9] * 3, class_id=[0] * 3, tracker_id=[1, 2, 3])
    analyzer = FaceAnalyzer(MODELS, 2, max_faces_per_frame=1, revisit_frames=1, engine=engine)
    analyzer.update(frame, tracked)
    analyzer.update(frame, tracked)
    analyzer.update(frame, tracked)
    assert [analyzer.attributes(t) is not None for t in (1, 2, 3)].count(True) == 3


def test_analyzer_ignores_people_too_small_for_a_face(engine):
    from vision.faces import FaceAnalyzer
    if not (PETS / "vtest.avi").is_file():
        pytest.skip("PETS clip not present")
    cap = cv2.VideoCapture(str(PETS / "vtest.avi"))
    ok, frame = cap.read()
    cap.release()
    # PETS people are ~20 px wide: no face can be read; the analyzer must not even try.
    tracked = Detections(xyxy=[[312, 98, 331, 145], [161, 136, 182, 192]], confidence=[0.9, 0.9],
                         class_id=[0, 0], tracker_id=[1, 2])
    analyzer = FaceAnalyzer(MODELS, 2, engine=engine)
    assert analyzer.update(frame, tracked) == 0
    assert analyzer.attributes(1) is None


def test_analyzer_needs_tracker_ids(engine):
    from vision.faces import FaceAnalyzer
    analyzer = FaceAnalyzer(MODELS, 2, engine=engine)
    with pytest.raises(ValueError, match="tracker_id"):
        analyzer.update(np.zeros((10, 10, 3), np.uint8), Detections.empty())


def test_faces_cli_reports_every_image_and_writes_nothing(engine, tmp_path, capsys, monkeypatch):
    from vision.faces.cli import main
    rows = _labels()[:2]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    images = [str(FAIRFACE / "images" / r["file"]) for r in rows] + ["broken.jpg", "missing.jpg"]
    before = set(os.listdir(tmp_path))
    code = main([*images, "--json", "--models-dir", str(MODELS)])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 1                                   # some inputs were bad...
    assert [i["image"] for i in out["images"]] == images
    assert len(out["images"][0]["faces"]) >= 1         # ...but the good ones were analysed
    face = out["images"][0]["faces"][0]
    assert {"box", "age", "age_bracket", "gender", "gender_confidence"} <= set(face)
    assert out["images"][2]["error"] == "not a readable image"
    assert out["images"][3]["error"] == "no such file"
    assert set(os.listdir(tmp_path)) == before         # no crops, no chips, nothing


def test_the_stored_calibration_is_what_the_models_say_now(engine):
    """A fresh look at a few calibration photos gives the p(female) and age probabilities
    stored in models/demographics.json (the shares are corrected with those)."""
    from station.shares import load_calibration
    from vision.calibrate_demographics import look_once
    from vision.faces import FaceAnalyzer
    from vision.loading import load_faces
    doc = json.loads((MODELS / "demographics.json").read_text(encoding="utf-8"))
    analyzer = FaceAnalyzer(MODELS, 2, max_faces_per_frame=1, revisit_frames=1, engine=engine)
    for i, face in enumerate(doc["faces"][::90]):
        attrs = look_once(analyzer, cv2.imread(str(FAIRFACE / "images" / face["file"])), i + 1)
        assert attrs.p_female == pytest.approx(face["p_female"], abs=2e-4), face["file"]
        assert attrs.age_probs == pytest.approx(face["age_probs"], abs=2e-4), face["file"]
    # [vision] gender_min_confidence 0 (the default) means the calibrated threshold
    assert load_faces(MODELS, 1).gender_min_confidence == load_calibration().gender_min_confidence
    assert load_faces(MODELS, 1, 0.6).gender_min_confidence == 0.6
