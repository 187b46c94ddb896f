"""`cx-vision faces IMAGE... [--json] [--models-dir D]`: faces with age and gender in still photos.

    cx-vision faces photo.jpg other.png --json

Prints one block per image (or, with --json, one JSON object on the last line: {"images": [...]}).
An image that cannot be read is reported with its error and the others are still processed;
the exit code is 1 if any image failed. Nothing is written to disk.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("faces", help="detect faces and estimate age and gender in photos")
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--json", action="store_true", help="last stdout line is one JSON object")
    parser.add_argument("--models-dir", default=str(REPO_MODELS_DIR))
    parser.add_argument("--threads", type=int, default=2)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    import cv2

    from vision.faces.analyzer import FaceEngine, analyze_image

    try:
        engine = FaceEngine(Path(args.models_dir), threads=args.threads)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report, failed = [], False
    for name in args.images:
        image = cv2.imread(name, cv2.IMREAD_COLOR) if Path(name).is_file() else None
        if image is None:
            reason = "no such file" if not Path(name).exists() else "not a readable image"
            report.append({"image": name, "error": reason})
            failed = True
            if not args.json:
                print(f"{name}: error: {reason}")
            continue
        faces = analyze_image(image, engine)
        report.append({"image": name, "faces": [f.as_dict() for f in faces]})
        if not args.json:
            print(f"{name}: {len(faces)} face(s)")
            for i, f in enumerate(faces, 1):
                x1, y1, x2, y2 = (int(round(v)) for v in f.box)
                print(f"  {i}. box ({x1},{y1})-({x2},{y2})  age {f.age:.0f} [{f.age_bracket}, "
                      f"{f.age_confidence:.0%}]  {f.gender} ({f.gender_confidence:.0%})  "
                      f"face score {f.score:.2f}")
    if args.json:
        print(json.dumps({"images": report}))
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cx-vision")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["faces", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
