"""``cx-vision``: the people-counting service and its offline tools.

    cx-vision run --config config/demo.toml --camera main
    cx-vision analyze video.avi --scene vision/scenes/pets2009.json --json
    cx-vision faces photo.jpg --json

``run`` reads one camera of ``[[vision.cameras]]`` (``--camera ID``) and writes visits,
crossings, presence, per-minute traffic and that camera's health into the station DB (``vision/service.py``). With no camera
configured (or a video file that does not exist) it says so once and idles until stopped,
instead of crash-looping. ``analyze`` runs the same pipeline on a video file as fast as it can
and prints the counts (``vision/analyze.py``). This module only reads the command line.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from station.config import VisionSection
from vision.loading import DEFAULT_MODELS, parse_size


def cmd_run(args) -> int:
    from vision.service import run
    return run(args.config, args.camera)


def cmd_analyze(args) -> int:
    from vision.analyze import CannotAnalyze, analyze_video
    try:
        result = analyze_video(args.video, args.scene, detector=args.detector,
                               input_size=args.input_size, models_dir=args.models_dir,
                               threads=args.threads, detect_every=args.detect_every,
                               faces=args.faces, max_frames=args.max_frames,
                               mot_out=args.mot_out)
    except CannotAnalyze as exc:
        print(f"cx-vision analyze: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['frames']} frames at {result['fps']} fps, {result['tracks']} tracks "
          f"({result['detector']})")
    for name, c in result["lines"].items():
        print(f"line {name}: in {c['in']}, out {c['out']}")
    for name, z in result["zones"].items():
        print(f"zone {name}: dwell {z['dwell_s']} s, visits {z['visits']}")
    print(f"direction: {result['direction']}")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cx-vision", description="People counting, dwell time and demographics from the "
                                      "store camera (frames never leave memory).")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the people-counting service")
    run.add_argument("--config", required=True, help="station TOML file")
    run.add_argument("--camera", default="main",
                     help="the id of the camera to count on ([[vision.cameras]]; one process "
                          "per camera). Default: main, the old single-camera [vision] form")
    run.set_defaults(func=cmd_run)

    an = sub.add_parser("analyze", help="count people in a video file as fast as possible")
    an.add_argument("video")
    an.add_argument("--scene", required=True, help="JSON with lines and zones (pixels)")
    an.add_argument("--json", action="store_true", help="print one JSON object")
    an.add_argument("--mot-out", help="write tracks in MOTChallenge format to this file")
    an.add_argument("--max-frames", type=_positive_int, default=None)
    an.add_argument("--detector", default="default")
    an.add_argument("--input-size", type=parse_size, default=None, metavar="WxH",
                    help="what the person detector sees, e.g. 416x320 (default: its own)")
    an.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS)
    an.add_argument("--threads", type=_positive_int, default=2)
    an.add_argument("--detect-every", type=_positive_int, default=VisionSection.detect_every,
                    help="run the person detector every k-th frame; the tracker predicts between")
    an.add_argument("--faces", action="store_true", help="also estimate age/gender per track")
    an.set_defaults(func=cmd_analyze)

    try:
        from vision.faces.cli import add_parser
    except ImportError:
        pass
    else:
        add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "run":
        logging.basicConfig(level=logging.WARNING, format="cx-vision %(levelname)s %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
