"""Our tracker + line counter vs Roboflow's ByteTrack + LineZone on the SAME detections.

    python bench/tracker_peer.py            # table
    python bench/tracker_peer.py --json     # last stdout line: one JSON object

Detection sets (each fed identically to both sides, prepared before any timing):
  * ``detector``: the station's person detector run once over the PETS 2009 S2.L1 clip;
  * ``noisy-gt``: the clip's ground-truth boxes with jitter, 10 % misses, stray boxes and
    random scores -- a detector-independent check (fixed seed).
Measured per side: ms per frame of tracker + both line counters (best of ``--repeat`` runs),
IDF1 against gt.txt (bench/pets.py), line counts per direction and their error against
counts.json, and, for ours, zone dwell against the reference. Each side runs with its own
library defaults (ours without the detector-specific thresholds the station adds), with the
same lost-track time (ours, ``vision.tracker.LOST_S``) and the same frame rate (10 fps);
LineZone counts at the bottom-centre anchor, as ours does, so both count the feet.
Peer: ``supervision==0.31.2`` (LineZone) and ``trackers==2.6.1`` (ByteTrackTracker; installed
with ``--no-deps`` plus ``rich``, because it asks for the non-headless OpenCV).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.pets import (DIRECTION_NAMES, SCENE, VIDEO, idf1, load_counts, load_gt,  # noqa: E402
                        noisy_detections)
from vision.detections import Detections  # noqa: E402
from vision.lines import LineCounter  # noqa: E402
from vision.loading import load_detector, parse_size  # noqa: E402
from vision.tracker import LOST_S, Tracker  # noqa: E402
from vision.zones import Zone  # noqa: E402

FPS = 10.0


def detector_detections(name: str, models_dir: Path, threads: int, frames: int,
                        input_size: tuple[int, int] | None = None) -> dict:
    detector = load_detector(name, models_dir, threads, input_size)
    cap = cv2.VideoCapture(str(VIDEO))
    out = {}
    for f in range(1, frames + 1):
        ok, image = cap.read()
        if not ok:
            break
        d = detector.detect(image)
        out[f] = d[d.class_id == 0]
    cap.release()
    return out, getattr(detector, "name", name)


def scene():
    raw = json.loads(SCENE.read_text())
    return raw["lines"], raw["zones"][0]


def run_ours(dets: dict, lines_spec) -> dict:
    tracker = Tracker(frame_rate=FPS)
    lines = [LineCounter(l["name"], l["a"], l["b"]) for l in lines_spec]
    hyp = {}
    started = time.perf_counter()
    for f in sorted(dets):
        tracked = tracker.update(dets[f])
        for line in lines:
            line.trigger(tracked)
        hyp[f] = (tracked.tracker_id, tracked.xyxy)
    elapsed = time.perf_counter() - started
    counts = {l.name: {"in": l.in_count, "out": l.out_count} for l in lines}
    return {"seconds": elapsed, "hyp": hyp, "counts": counts}


def run_peer(sv_dets: dict, lines_spec) -> dict:
    import supervision as sv
    from trackers import ByteTrackTracker
    tracker = ByteTrackTracker(lost_track_buffer=round(LOST_S * FPS), frame_rate=FPS)
    zones = [sv.LineZone(sv.Point(*l["a"]), sv.Point(*l["b"]),
                         triggering_anchors=[sv.Position.BOTTOM_CENTER]) for l in lines_spec]
    hyp = {}
    started = time.perf_counter()
    for f in sorted(sv_dets):
        tracked = tracker.update(sv_dets[f])
        tracked = tracked[tracked.tracker_id >= 0]
        for zone in zones:
            zone.trigger(tracked)
        hyp[f] = (tracked.tracker_id, tracked.xyxy)
    elapsed = time.perf_counter() - started
    counts = {l["name"]: {"in": z.in_count, "out": z.out_count} for l, z in zip(lines_spec, zones)}
    return {"seconds": elapsed, "hyp": hyp, "counts": counts}


def to_sv(dets: dict) -> dict:
    import supervision as sv
    return {f: sv.Detections(xyxy=d.xyxy.astype(np.float32), confidence=d.confidence,
                             class_id=d.class_id) for f, d in dets.items()}


def count_errors(counts: dict, reference: dict) -> dict:
    """Per line and named direction: ours vs reference, relative error."""
    out, abs_err, total = {}, 0, 0
    for line, c in counts.items():
        ref = reference["lines"][line]["counts"]
        for ours_dir, name in DIRECTION_NAMES[line].items():
            err = c[ours_dir] - ref[name]
            out[f"{line}.{name}"] = {"count": c[ours_dir], "reference": ref[name],
                                     "error_pct": round(100 * err / ref[name], 1)}
            abs_err += abs(err)
            total += ref[name]
    return {"per_direction": out, "total_abs_error": abs_err,
            "total_abs_error_pct": round(100 * abs_err / total, 1)}


def zone_dwell(hyp: dict, zone_spec, reference: dict) -> dict:
    zone = Zone(zone_spec["name"], zone_spec["polygon"])
    for f in sorted(hyp):
        ids, xyxy = hyp[f]
        zone.trigger(Detections(xyxy, np.ones(len(ids)), np.zeros(len(ids)), tracker_id=ids),
                     (f - 1) / FPS)
    ref = reference["zone"]["totals"]["track_seconds_in_zone"]
    return {"dwell_s": round(zone.total_dwell_s, 1), "reference_s": ref,
            "error_pct": round(100 * (zone.total_dwell_s - ref) / ref, 1),
            "visits": zone.total_visits, "reference_visits": reference["zone"]["totals"]["zone_entries"]}


def compare(label: str, dets: dict, gt: dict, reference: dict, repeat: int) -> dict:
    lines_spec, zone_spec = scene()
    sv_dets = to_sv(dets)
    n = len(dets)
    ours = min((run_ours(dets, lines_spec) for _ in range(repeat)), key=lambda r: r["seconds"])
    peer = min((run_peer(sv_dets, lines_spec) for _ in range(repeat)), key=lambda r: r["seconds"])
    gt_cut = {f: v for f, v in gt.items() if f <= n}
    result = {}
    for side, r in (("ours", ours), ("peer", peer)):
        result[side] = {
            "ms_per_frame": round(1000 * r["seconds"] / n, 3),
            "idf1": round(idf1(gt_cut, r["hyp"])["idf1"], 4),
            "ids": int(len({int(i) for ids, _ in r["hyp"].values() for i in ids})),
            "lines": count_errors(r["counts"], reference) if n >= 795 else r["counts"],
            "zone": zone_dwell(r["hyp"], zone_spec, reference) if n >= 795 else None,
        }
    result["speedup"] = round(result["peer"]["ms_per_frame"] / result["ours"]["ms_per_frame"], 2)
    result["detections_per_frame"] = round(sum(len(d) for d in dets.values()) / n, 2)
    result["frames"] = n
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sets", default="detector,noisy-gt")
    parser.add_argument("--detector", default="default")
    parser.add_argument("--input-size", type=parse_size, default=None, metavar="WxH",
                        help="person detector input, e.g. 416x320")
    parser.add_argument("--models-dir", type=Path, default=Path(__file__).resolve().parents[1] / "models")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=795)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    cv2.setNumThreads(args.threads)
    gt, reference = load_gt(), load_counts()
    report = {"bench": "tracker_peer", "video": str(VIDEO), "fps": FPS, "sets": {}}
    for name in args.sets.split(","):
        if name == "detector":
            dets, det_name = detector_detections(args.detector, args.models_dir, args.threads,
                                                 args.frames, args.input_size)
            label = f"detector:{det_name}"
        elif name == "noisy-gt":
            dets, label = noisy_detections(gt, args.frames, seed=0), "noisy-gt(seed 0)"
        else:
            parser.error(f"unknown detection set {name!r}")
        report["sets"][label] = r = compare(label, dets, gt, reference, args.repeat)
        if not args.json:
            print(f"== {label}: {r['frames']} frames, {r['detections_per_frame']} boxes/frame")
            for side in ("ours", "peer"):
                s = r[side]
                lines = s["lines"]
                err = lines.get("total_abs_error_pct") if isinstance(lines, dict) else None
                print(f"  {side}: {s['ms_per_frame']} ms/frame, IDF1 {s['idf1']}, "
                      f"{s['ids']} ids, line count abs error {err} %")
                if "per_direction" in lines:
                    for k, v in lines["per_direction"].items():
                        print(f"      {k}: {v['count']} vs {v['reference']} ({v['error_pct']} %)")
                if s["zone"]:
                    print(f"      zone dwell {s['zone']['dwell_s']} s vs "
                          f"{s['zone']['reference_s']} s ({s['zone']['error_pct']} %)")
            print(f"  speed-up ours vs peer: {r['speedup']}x")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
