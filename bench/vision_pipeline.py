"""The whole vision pipeline on the PETS 2009 S2.L1 clip: speed, memory and accuracy.

    python bench/vision_pipeline.py                       # table
    python bench/vision_pipeline.py --json                # last stdout line: one JSON object
    python bench/vision_pipeline.py --detect-every 1,2,3 --no-faces

Each configuration runs in its own process (so peak RSS is its own): decode every frame of
the 480x360 clip as fast as possible, person detector every k-th frame (the tracker predicts
in between), tracker, both counting lines, the zone, faces (age/gender) when on, and events
written into a temporary station DB through the store API, batched as in the service.
Reported: end-to-end fps (decode included), mean ms per frame per stage, peak RSS, and the
accuracy of the same run against the clip's ground truth: line counts per direction vs
counts.json, zone dwell vs the reference, IDF1 vs gt.txt. Targets (issue 5): >= 50 fps with
faces on, <= 400 MB, counts within 3 % per direction, IDF1 >= 0.80, dwell within 10 %.
Threads: ``--threads`` (default 2) for OpenCV and ONNX Runtime.

``--mirror`` runs the same on the clip flipped left to right, with the lines, zone and ground
truth flipped to match: the detector sees other pixels and people walk the other way, so it
is a second view of the same annotation, a check that nothing was fitted to this clip's
particular left-right layout (mirroring swaps each line's in and out; they are swapped back
before comparing with counts.json).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vision.loading import parse_size  # noqa: E402


def mirrored_scene(path: Path, width: int):
    """The scene's lines and zones flipped left to right in a frame `width` pixels wide."""
    from vision.scene import scene_from_items
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    flip = lambda p: [width - p[0], p[1]]                              # noqa: E731
    lines = [{**l, "a": flip(l["a"]), "b": flip(l["b"])} for l in raw["lines"]]
    zones = [{**z, "polygon": [flip(p) for p in z["polygon"]]} for z in raw["zones"]]
    return scene_from_items(lines, zones, where=f"{path} (mirrored)")


def run_one(detect_every: int, faces_on: bool, threads: int, detector_name: str,
            models_dir: Path, frames: int | None, input_size: tuple[int, int] | None = None,
            mirror: bool = False) -> dict:
    import cv2
    import numpy as np
    from bench.pets import SCENE, VIDEO, idf1, load_counts, load_gt
    from bench.tracker_peer import count_errors
    from station.store import Store
    from vision.camera import VideoSource
    from vision.events import EventRecorder
    from vision.loading import load_detector, load_faces
    from vision.pipeline import Pipeline
    from vision.scene import load_scene
    from vision.tracker import Tracker

    cv2.setNumThreads(threads)
    detector = load_detector(detector_name, models_dir, threads, input_size)
    faces = load_faces(models_dir, threads) if faces_on else None
    probe = cv2.VideoCapture(str(VIDEO))
    width = int(probe.get(cv2.CAP_PROP_FRAME_WIDTH))
    probe.release()
    lines, zones = mirrored_scene(SCENE, width) if mirror else load_scene(SCENE)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open_path(Path(tmp) / "station.db", station="bench/pets/k1",
                                synchronous="NORMAL")
        recorder = EventRecorder(store)
        tracker = Tracker.for_detector(detector, 10.0 / detect_every)
        pipeline = Pipeline(detector, tracker, lines, zones,
                            faces=faces,
                            sink=recorder, detect_every=detect_every)
        source = VideoSource(str(VIDEO), realtime=False)
        start_ts = time.time()
        hyp = {}
        decode_s = 0.0
        started = time.perf_counter()
        while frames is None or pipeline.frames < frames:
            t0 = time.perf_counter()
            frame = source.read(timeout_s=5.0)
            decode_s += time.perf_counter() - t0
            if frame is None:
                break
            frame.ts += start_ts
            if mirror:
                frame.image = cv2.flip(frame.image, 1)
            people = pipeline.process(frame)
            hyp[frame.index + 1] = (people.tracker_id, people.xyxy)
        pipeline.close(start_ts + 3600)
        elapsed = time.perf_counter() - started
        written = dict(recorder.written)
        store.close()
    source.close()
    n = pipeline.frames
    gt = {f: v for f, v in load_gt().items() if f <= n}
    if mirror:
        gt = {f: (ids, np.stack([width - b[:, 2], b[:, 1], width - b[:, 0], b[:, 3]], 1))
              for f, (ids, b) in gt.items()}
    # A mirrored line counts the reference's "in" as "out": swap back before comparing.
    counts = {l.name: {"in": l.out_count, "out": l.in_count} if mirror else
              {"in": l.in_count, "out": l.out_count} for l in lines}
    reference = load_counts()
    full = n >= reference["num_frames"]
    ref_dwell = reference["zone"]["totals"]["track_seconds_in_zone"]
    zone = zones[0]
    stage_ms = {k: round(v, 3) for k, v in pipeline.stage_ms().items()}
    stage_ms["decode"] = round(1000 * decode_s / max(n, 1), 3)
    return {
        "detect_every": detect_every, "faces": faces is not None,
        "detector": getattr(detector, "name", detector_name), "threads": threads,
        "detector_input": list(getattr(detector, "input_size", ())),
        "frames": n, "fps": round(n / elapsed, 2), "stage_ms": stage_ms,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "tracks": pipeline.tracks_seen,
        "idf1": round(idf1(gt, hyp)["idf1"], 4),
        "mirrored": mirror,
        "lines": count_errors(counts, reference) if full else counts,
        "zone": {"dwell_s": round(zone.total_dwell_s, 1), "reference_s": ref_dwell,
                 "error_pct": round(100 * (zone.total_dwell_s - ref_dwell) / ref_dwell, 1)
                 if full else None, "visits": zone.total_visits},
        "events_written": written,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--detect-every", default="1,2,3",
                        help="comma list (default 1,2,3; the station default is 2)")
    parser.add_argument("--no-faces", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--detector", default="default")
    parser.add_argument("--input-size", type=parse_size, default=None, metavar="WxH",
                        help="person detector input, e.g. 416x320")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--mirror", action="store_true",
                        help="the clip flipped left to right (scene and ground truth with it)")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    ks = [int(k) for k in args.detect_every.split(",")]
    if args.single:
        print(json.dumps(run_one(ks[0], not args.no_faces, args.threads, args.detector,
                                 args.models_dir, args.frames, args.input_size, args.mirror)))
        return 0
    runs = []
    for k in ks:
        cmd = [sys.executable, __file__, "--single", "--detect-every", str(k),
               "--threads", str(args.threads), "--detector", args.detector,
               "--models-dir", str(args.models_dir)]
        cmd += ["--no-faces"] if args.no_faces else []
        cmd += ["--mirror"] if args.mirror else []
        cmd += ["--frames", str(args.frames)] if args.frames else []
        cmd += ["--input-size", "%dx%d" % args.input_size] if args.input_size else []
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return out.returncode
        run = json.loads(out.stdout.strip().splitlines()[-1])
        runs.append(run)
        if not args.json:
            print(f"== {'mirrored clip, ' if run['mirrored'] else ''}"
                  f"detect every {k} frame(s), faces {'on' if run['faces'] else 'off'}, "
                  f"{run['detector']} {'x'.join(map(str, run['detector_input']))}, {run['threads']} threads")
            print(f"  {run['frames']} frames at {run['fps']} fps; peak RSS {run['peak_rss_mb']} MB")
            print("  ms/frame: " + ", ".join(f"{k2} {v}" for k2, v in run["stage_ms"].items()))
            print(f"  IDF1 {run['idf1']}, {run['tracks']} tracks")
            lines = run["lines"]
            for name, v in lines.get("per_direction", {}).items():
                print(f"  {name}: {v['count']} vs {v['reference']} ({v['error_pct']} %)")
            z = run["zone"]
            print(f"  zone dwell {z['dwell_s']} s vs {z['reference_s']} s ({z['error_pct']} %), "
                  f"{z['visits']} visits")
    if args.json:
        print(json.dumps({"bench": "vision_pipeline", "runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
