"""The pipeline's two sinks: the station DB recorder and the in-memory collector get the same events."""
import sqlite3
from pathlib import Path

from station.store import Crossing, Store
from vision.camera import VideoSource
from vision.events import EventRecorder
from vision.pipeline import Pipeline
from vision.scene import load_scene
from vision.sink import EventCollector, EventSink
from vision.tracker import Tracker

SCENE = Path(__file__).resolve().parents[2] / "vision" / "scenes" / "pets2009.json"
START = 1_763_900_000.0


def run_frames(video, detector, sink, frames=90):
    lines, zones = load_scene(SCENE)
    pipeline = Pipeline(detector, Tracker(frame_rate=10), lines, zones, sink=sink)
    source = VideoSource(str(video), realtime=False)
    while pipeline.frames < frames:
        frame = source.read(timeout_s=5)
        frame.ts += START
        pipeline.process(frame)
    source.close()
    pipeline.close(START + 600)
    return pipeline


def test_both_sinks_take_the_verbs_the_pipeline_calls(tmp_path):
    store = Store.open_path(tmp_path / "station.db", station="t/s/k")
    try:
        assert isinstance(EventRecorder(store), EventSink)
    finally:
        store.close()
    assert isinstance(EventCollector(), EventSink)


def test_the_collector_gets_what_the_recorder_writes_to_the_station_db(pets_video, person_detector,
                                                                       tmp_path):
    store = Store.open_path(tmp_path / "station.db", station="t/s/k")
    recorded = run_frames(pets_video, person_detector, EventRecorder(store, flush_every_s=0.0))
    store.close()
    collector = EventCollector()
    collected = run_frames(pets_video, person_detector, collector)
    assert collected.sink is collector and recorded.tracks_seen == collected.tracks_seen > 0
    db = sqlite3.connect(tmp_path / "station.db")
    crossings = db.execute("SELECT ts, line, direction FROM crossings ORDER BY ts, line").fetchall()
    assert crossings and crossings == sorted((c.ts, c.line, c.direction)
                                             for c in collector.crossings)
    dwell = db.execute("SELECT entered_at, left_at FROM visits ORDER BY entered_at").fetchall()
    assert dwell == sorted((v.entered_at, v.left_at) for v in collector.visits)
    presence = db.execute("SELECT zone, since, until FROM presence ORDER BY since").fetchall()
    assert presence and presence == sorted((p.zone, p.since, p.until)
                                           for p in collector.presence_spans.values())


def test_a_pipeline_without_a_sink_collects_in_memory():
    pipeline = Pipeline(detector=None, tracker=Tracker(frame_rate=10))
    assert isinstance(pipeline.sink, EventCollector)


def test_presence_in_a_zone_keeps_when_it_began_and_follows_the_last_sighting():
    collector = EventCollector()
    collector.presence("v1", "kiosk", since=10.0, until=11.0)
    collector.presence("v1", "kiosk", since=12.0, until=15.0)      # re-entered: one span
    collector.presence("v2", "kiosk", since=14.0, until=15.0)
    collector.crossing(Crossing(ts=12.0, line="entrance", direction="in", visit_id="v1"))
    spans = {key: (p.since, p.until) for key, p in collector.presence_spans.items()}
    assert spans == {("v1", "kiosk"): (10.0, 15.0), ("v2", "kiosk"): (14.0, 15.0)}
    assert [c.line for c in collector.crossings] == ["entrance"]
    assert collector.maybe_flush(20.0) is False and collector.flush(20.0) is False
