"""The whole pipeline on a slice of the real clip, writing real events into a temp station DB."""
import json
import sqlite3
from pathlib import Path

import pytest

from station.store import Response, Store
from vision.camera import VideoSource
from vision.events import EventRecorder
from vision.pipeline import Pipeline
from vision.scene import load_scene
from vision.tracker import Tracker

FRAMES = 240
START = 1_763_900_000.0          # a fixed UTC epoch so minutes are predictable


SCENE = Path(__file__).resolve().parents[2] / "vision" / "scenes" / "pets2009.json"


def run_slice(video, detector, faces, store, frames=FRAMES, detect_every=1):
    lines, zones = load_scene(SCENE)
    recorder = EventRecorder(store, flush_every_s=0.0)        # flush every frame: many batches
    pipeline = Pipeline(detector, Tracker(frame_rate=10 / detect_every), lines, zones, faces=faces,
                        sink=recorder, detect_every=detect_every)
    source = VideoSource(str(video), realtime=False)
    last = None
    while pipeline.frames < frames:
        frame = source.read(timeout_s=5)
        assert frame is not None
        frame.ts += START
        pipeline.process(frame)
        recorder.health({"fps": 10.0, "last_frame": frame.ts})     # as the service does
        last = frame.ts
    pipeline.close(last + 120)                                 # closes every minute too
    source.close()
    return pipeline, recorder


@pytest.fixture
def store(tmp_path):
    s = Store.open_path(tmp_path / "station.db", station="t/s/k", kiosk_zone="centre_walkway_rect")
    yield s
    s.close()


def test_pipeline_writes_visits_crossings_presence_and_traffic(pets_video, person_detector,
                                                               face_analyzer, store, tmp_path):
    pipeline, recorder = run_slice(pets_video, person_detector, face_analyzer, store)
    assert recorder.failures == 0 and recorder.pending == 0
    db = sqlite3.connect(tmp_path / "station.db")
    visits = db.execute("SELECT id, entered_at, left_at, dwell FROM visits").fetchall()
    assert len(visits) == pipeline.tracks_seen > 0
    assert all(START <= e <= l <= START + FRAMES / 10 for _, e, l, _ in visits)
    assert len({v[0] for v in visits}) == len(visits)          # one uuid per track
    dwell = [json.loads(d) for *_, d in visits]
    assert any(d.get("centre_walkway_rect", 0) > 0 for d in dwell)
    crossings = db.execute("SELECT line, direction, visit_id FROM crossings").fetchall()
    expected = sum(l.in_count + l.out_count for l in pipeline.lines)
    assert len(crossings) == expected
    visit_ids = {v[0] for v in visits}
    assert all(c[2] in visit_ids for c in crossings)            # crossings belong to visits
    presence = db.execute("SELECT visit_id, zone, since, until FROM presence").fetchall()
    assert presence and all(p[0] in visit_ids and p[2] <= p[3] for p in presence)
    traffic = db.execute("SELECT sum(entries), sum(exits) FROM traffic").fetchone()
    assert traffic == (sum(l.in_count for l in pipeline.lines),
                       sum(l.out_count for l in pipeline.lines))
    outbox = db.execute("SELECT type, count(*) FROM outbox GROUP BY type").fetchall()
    assert dict(outbox)["visit"] == len(visits)
    health = db.execute("SELECT data FROM health WHERE component='vision:main'").fetchone()
    assert health is None or "fps" in json.loads(health[0])
    assert set(pipeline.stage_ms()) == {"detect", "track", "lines", "zones", "faces", "events"}


def test_detecting_every_third_frame_still_follows_people(pets_video, person_detector, store):
    pipeline, _ = run_slice(pets_video, person_detector, None, store, frames=120,
                            detect_every=3)
    assert pipeline.tracks_seen > 0
    assert pipeline.stage_ms()["detect"] > 0
    zone = pipeline.zones[0]
    assert zone.total_dwell_s > 0


def test_a_locked_database_loses_no_events(pets_video, person_detector, tmp_path):
    """While another writer holds the DB, batches are kept and written once it is free."""
    path = tmp_path / "station.db"
    store = Store.open_path(path, station="t/s/k", busy_timeout_ms=50)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    lines, zones = load_scene(SCENE)
    recorder = EventRecorder(store, flush_every_s=0.0)
    pipeline = Pipeline(person_detector, Tracker(frame_rate=10), lines, zones, sink=recorder)
    source = VideoSource(str(pets_video), realtime=False)
    for _ in range(60):
        frame = source.read(timeout_s=5)
        frame.ts += START
        pipeline.process(frame)
    source.close()
    assert recorder.failures > 0 and recorder.pending > 0
    assert "locked" in recorder.last_error       # vision's health row carries both (cx-watch)
    blocker.execute("ROLLBACK")
    pipeline.close(START + 600)
    assert recorder.pending == 0
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM visits").fetchone()[0] == pipeline.tracks_seen
    store.close()


def test_a_kiosk_tap_links_to_whoever_stood_longest_in_the_kiosk_zone(pets_video,
                                                                      person_detector, store,
                                                                      tmp_path):
    run_slice(pets_video, person_detector, None, store, frames=150)
    tap = START + 14.0
    window = 15.0
    db = sqlite3.connect(tmp_path / "station.db")
    rows = db.execute("SELECT visit_id, since, until FROM presence WHERE zone = ?",
                      ("centre_walkway_rect",)).fetchall()
    overlap = {}
    for visit_id, since, until in rows:
        o = min(until, tap) - max(since, tap - window)
        if o >= 0:
            overlap[visit_id] = overlap.get(visit_id, 0) + o
    assert overlap, "nobody in the zone before the tap; pick another moment"
    store.append_response(Response(nps=9, ts=tap))
    presence, visit_id = db.execute("SELECT presence, visit_id FROM responses").fetchone()
    assert presence == "linked"
    assert overlap[visit_id] == max(overlap.values())
