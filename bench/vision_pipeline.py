"""The whole vision pipeline on PETS 2009 clips: speed, memory and accuracy, per clip.

    python bench/vision_pipeline.py                       # table
    python bench/vision_pipeline.py --json                # last stdout line: one JSON object
    python bench/vision_pipeline.py --detect-every 1,2,3 --no-faces --clips s3mf1

Clips (bench/pets.py): ``s2l1`` (480x360, 795 frames, 10 fps), ``s2l1-mirror`` and ``s3mf1``
(768x576, 107 frames, 7 fps, a close group passing behind each other), all three by default.
Each configuration runs in its own process (so peak RSS is its own): decode every frame of
the clip as fast as possible, person detector every k-th frame (the tracker predicts
in between), tracker, both counting lines, the zone, faces (age/gender) when on, and events
written into a temporary station DB through the store API, batched as in the service.
Reported: end-to-end fps (decode included), mean ms per frame per stage, peak RSS, and the
accuracy of the same run against the clip's ground truth: line counts per direction vs
counts.json, zone dwell vs the reference, IDF1 vs gt.txt. Targets (issue 5): >= 50 fps with
faces on, <= 400 MB, counts within 3 % per direction, IDF1 >= 0.80, dwell within 10 %.
Threads: ``--threads`` (default 2) for OpenCV and ONNX Runtime.

``s2l1-mirror`` is S2.L1 flipped left to right, with the lines, zone and ground truth flipped
to match: the detector sees other pixels and people walk the other way, so it is a second view
of the same annotation, a check that nothing was fitted to this clip's particular left-right
layout (its counts are compared with counts.json under the unmirrored direction names).
fps figures are for this machine as loaded when the bench ran: say so when quoting them.
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


def run_one(detect_every: int, faces_on: bool, threads: int, detector_name: str,
            models_dir: Path, frames: int | None, input_size: tuple[int, int] | None = None,
            clip_name: str = "s2l1") -> dict:
    import cv2
    from bench.pets import idf1, load_clip
    from station.store import Store
    from vision.camera import VideoSource
    from vision.events import EventRecorder
    from vision.loading import load_detector, load_faces
    from vision.pipeline import Pipeline
    from vision.scene import scene_from_items
    from vision.tracker import Tracker

    cv2.setNumThreads(threads)
    clip = load_clip(clip_name)
    detector = load_detector(detector_name, models_dir, threads, input_size)
    faces = load_faces(models_dir, threads) if faces_on else None
    lines, zones = scene_from_items(clip.lines, [clip.zone], where=clip.name)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open_path(Path(tmp) / "station.db", station="bench/pets/k1",
                                synchronous="NORMAL")
        recorder = EventRecorder(store)
        tracker = Tracker.for_detector(detector, clip.fps / detect_every)
        pipeline = Pipeline(detector, tracker, lines, zones,
                            faces=faces,
                            sink=recorder, detect_every=detect_every)
        source = VideoSource(str(clip.video), realtime=False)
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
            if clip.mirror:
                frame.image = cv2.flip(frame.image, 1)
            people = pipeline.process(frame)
            hyp[frame.index + 1] = (people.tracker_id, people.xyxy)
        pipeline.close(start_ts + 3600)
        elapsed = time.perf_counter() - started
        written = dict(recorder.written)
        store.close()
    source.close()
    n = pipeline.frames
    gt = {f: v for f, v in clip.gt().items() if f <= n}
    counts = {l.name: {"in": l.in_count, "out": l.out_count} for l in lines}
    reference = clip.counts()
    full = n >= reference["num_frames"]
    ref_dwell = reference["zone"]["totals"]["track_seconds_in_zone"]
    zone = zones[0]
    stage_ms = {k: round(v, 3) for k, v in pipeline.stage_ms().items()}
    stage_ms["decode"] = round(1000 * decode_s / max(n, 1), 3)
    return {
        "clip": clip.name, "detect_every": detect_every, "faces": faces is not None,
        "detector": getattr(detector, "name", detector_name), "threads": threads,
        "detector_input": list(getattr(detector, "input_size", ())),
        "frames": n, "fps": round(n / elapsed, 2), "stage_ms": stage_ms,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "tracks": pipeline.tracks_seen,
        "idf1": round(idf1(gt, hyp)["idf1"], 4),
        "mirrored": clip.mirror,
        "lines": clip.count_errors(counts) if full else counts,
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
    parser.add_argument("--clips", default="s2l1,s2l1-mirror,s3mf1",
                        help="comma list of s2l1, s2l1-mirror, s3mf1 (default all three)")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    ks = [int(k) for k in args.detect_every.split(",")]
    if args.single:
        print(json.dumps(run_one(ks[0], not args.no_faces, args.threads, args.detector,
                                 args.models_dir, args.frames, args.input_size, args.clips)))
        return 0
    runs = []
    for clip, k in [(c, k) for c in args.clips.split(",") for k in ks]:
        cmd = [sys.executable, __file__, "--single", "--detect-every", str(k),
               "--threads", str(args.threads), "--detector", args.detector,
               "--models-dir", str(args.models_dir), "--clips", clip]
        cmd += ["--no-faces"] if args.no_faces else []
        cmd += ["--frames", str(args.frames)] if args.frames else []
        cmd += ["--input-size", "%dx%d" % args.input_size] if args.input_size else []
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return out.returncode
        run = json.loads(out.stdout.strip().splitlines()[-1])
        runs.append(run)
        if not args.json:
            print(f"== {run['clip']}, "
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
