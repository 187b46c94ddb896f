"""PETS 2009 clips shared by the vision benches: frames, ground truth, scene, reference counts, IDF1.

    clip = load_clip("s2l1-mirror")                  # "s2l1", "s2l1-mirror" or "s3mf1"
    gt = clip.gt()                                   # {frame: (ids, xyxy)}, 1-based frames
    for index, image in clip.frames(): ...           # BGR images, flipped for the mirror
    print(idf1(gt, {f: (ids, boxes) for ...}))       # 0..1
    print(clip.count_errors({"line": {"in": 3, "out": 5}}))

Clips: ``s2l1`` (S2.L1 view 001, 480x360, 795 frames at 10 fps, 19 people walking in every
direction), ``s2l1-mirror`` (the same flipped left to right, with its lines, zone and ground
truth: the detector sees other pixels and people walk the other way, so nothing fitted to the
clip's left-right layout survives it) and ``s3mf1`` (S3-MF1 view 001, 768x576, 107 frames at
7 fps, a group of seven walking close together and passing behind each other). Data stays in
``../shared/data`` (see its READMEs).

IDF1 (Ristani et al., 2016) is computed here because motmetrics 1.4 fails on NumPy 2:
a hypothesis box matches a ground-truth box in a frame when IoU >= 0.5, and ids are paired
once for the whole clip by the Hungarian method, maximising the frames they agree on.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from vision.detections import Detections
from vision.tracker import iou_matrix

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PETS = DATA / "pets2009-s2l1"
VIDEO = PETS / "vtest.avi"
SCENE = ROOT / "vision" / "scenes" / "pets2009.json"
S3MF1 = DATA / "pets2009-s3mf1"
CLIPS = ("s2l1", "s2l1-mirror", "s3mf1")

_MIRRORED_NAME = {"left_to_right": "right_to_left", "right_to_left": "left_to_right"}


def direction_names(a, b) -> dict[str, str]:
    """The reference's names (make_counts.py) of our "in" and "out" on segment a -> b."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ab = b - a
    vertical = abs(ab[1]) >= abs(ab[0])
    step = np.array([1.0, 0.0]) if vertical else np.array([0.0, 1.0])   # right, or down
    cross = ab[0] * step[1] - ab[1] * step[0]
    forward, backward = (("left_to_right", "right_to_left") if vertical
                         else ("top_to_bottom", "bottom_to_top"))
    return {"in": forward, "out": backward} if cross < 0 else {"in": backward, "out": forward}


@dataclass(frozen=True)
class Clip:
    name: str
    video: Path
    gt_path: Path
    counts_path: Path
    fps: float
    width: int
    lines: list        # [{"name", "a", "b"}] in the (mirrored) frame's pixels
    zone: dict         # {"name", "polygon"}
    mirror: bool = False

    def exists(self) -> bool:
        return self.video.is_file() and self.gt_path.is_file()

    def gt(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        gt = load_gt(self.gt_path)
        if not self.mirror:
            return gt
        w = self.width
        return {f: (ids, np.stack([w - b[:, 2], b[:, 1], w - b[:, 0], b[:, 3]], 1))
                for f, (ids, b) in gt.items()}

    def counts(self) -> dict:
        return load_counts(self.counts_path)

    def frames(self, limit: int | None = None):
        """(1-based frame number, BGR image) for every frame of the clip."""
        import cv2
        cap = cv2.VideoCapture(str(self.video))
        if not cap.isOpened():
            raise FileNotFoundError(f"cannot open {self.video}")
        index = 0
        try:
            while limit is None or index < limit:
                ok, image = cap.read()
                if not ok:
                    break
                index += 1
                yield index, (cv2.flip(image, 1) if self.mirror else image)
        finally:
            cap.release()

    def reference_direction(self, line: dict, ours: str) -> str:
        """The reference count (counts.json, unmirrored) our direction `ours` compares with."""
        name = direction_names(line["a"], line["b"])[ours]
        return _MIRRORED_NAME.get(name, name) if self.mirror else name

    def count_errors(self, counts: dict) -> dict:
        """Per line and named direction: ours vs the reference, and the total absolute error."""
        reference = self.counts()
        out, abs_err, total = {}, 0, 0
        for line in self.lines:
            c = counts[line["name"]]
            ref = reference["lines"][line["name"]]["counts"]
            for ours in ("in", "out"):
                name = self.reference_direction(line, ours)
                err = c[ours] - ref[name]
                out[f"{line['name']}.{name}"] = {
                    "count": c[ours], "reference": ref[name],
                    "error_pct": round(100 * err / ref[name], 1) if ref[name] else None}
                abs_err += abs(err)
                total += ref[name]
        return {"per_direction": out, "total_abs_error": abs_err, "reference_total": total,
                "total_abs_error_pct": round(100 * abs_err / total, 1)}


def load_clip(name: str) -> Clip:
    if name in ("s2l1", "s2l1-mirror"):
        raw = json.loads(SCENE.read_text())
        lines, zone = raw["lines"], raw["zones"][0]
        clip = Clip(name, VIDEO, PETS / "gt.txt", PETS / "counts.json", 10.0, 480,
                    lines, zone)
    elif name == "s3mf1":
        raw = json.loads((S3MF1 / "scene.json").read_text())
        lines = [{"name": k, "a": v["a"], "b": v["b"]} for k, v in raw["lines"].items()]
        clip = Clip(name, S3MF1 / "s3mf1.avi", S3MF1 / "gt.txt", S3MF1 / "counts.json",
                    float(raw["fps"]), int(raw["frame_size"][0]), lines, raw["zone"])
    else:
        raise ValueError(f"unknown clip {name!r}; choose one of {', '.join(CLIPS)}")
    if name.endswith("-mirror"):
        w = clip.width
        flip = lambda p: [w - p[0], p[1]]                               # noqa: E731
        clip = Clip(name, clip.video, clip.gt_path, clip.counts_path, clip.fps, w,
                    [{**l, "a": flip(l["a"]), "b": flip(l["b"])} for l in clip.lines],
                    {**clip.zone, "polygon": [flip(p) for p in clip.zone["polygon"]]},
                    mirror=True)
    return clip


def load_gt(path: Path = PETS / "gt.txt") -> dict[int, tuple[np.ndarray, np.ndarray]]:
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    out = {}
    for frame in np.unique(rows[:, 0]).astype(int):
        r = rows[rows[:, 0] == frame]
        xyxy = np.stack([r[:, 2], r[:, 3], r[:, 2] + r[:, 4], r[:, 3] + r[:, 5]], 1)
        out[int(frame)] = (r[:, 1].astype(np.int64), xyxy.astype(np.float32))
    return out


def load_counts(path: Path = PETS / "counts.json") -> dict:
    return json.loads(path.read_text())


def noisy_detections(gt, num_frames: int, seed: int = 0, dropout: float = 0.1,
                     jitter: float = 0.04, false_rate: float = 0.05,
                     frame_size=(480, 360)) -> dict[int, Detections]:
    """Ground-truth boxes made detector-like: jittered edges, missed boxes, stray boxes, scores."""
    rng = np.random.default_rng(seed)
    sx, sy = frame_size[0] / 480, frame_size[1] / 360
    dets = {}
    for frame in range(1, num_frames + 1):
        boxes = _jittered(rng, gt, frame, dropout, jitter)
        scores = np.clip(rng.normal(0.75, 0.15, len(boxes)), 0.15, 0.99)
        n_false = rng.poisson(false_rate)
        if n_false:
            x = rng.uniform(0, 440 * sx, n_false)
            y = rng.uniform(0, 300 * sy, n_false)
            fb = np.stack([x, y, x + 20 * sx, y + 50 * sy], 1)
            boxes = np.concatenate([boxes, fb])
            scores = np.concatenate([scores, rng.uniform(0.1, 0.6, n_false)])
        dets[frame] = Detections(boxes, scores, np.zeros(len(boxes), np.int32))
    return dets


def degraded_detections(gt, num_frames: int, frame_size, seed: int = 0, dropout: float = 0.1,
                        jitter: float = 0.04, false_per_frame: float = 1.0,
                        true_scores=(0.4, 1.0), false_scores=(0.3, 0.6)) -> dict[int, Detections]:
    """Ground truth as a detector with another score calibration would see it.

    True people: jittered boxes (``jitter`` of the box height per edge), ``dropout`` missed,
    scored uniformly in ``true_scores``. False positives: ``false_per_frame`` (Poisson) boxes
    per frame the size of a real person of the clip (drawn from its ground-truth boxes),
    anywhere in the frame, scored uniformly in ``false_scores``, which overlaps the true ones.
    """
    rng = np.random.default_rng(seed)
    sizes = np.concatenate([b[:, 2:] - b[:, :2] for _, b in gt.values() if len(b)])
    w, h = frame_size
    dets = {}
    for frame in range(1, num_frames + 1):
        boxes = _jittered(rng, gt, frame, dropout, jitter)
        scores = rng.uniform(*true_scores, len(boxes))
        n_false = rng.poisson(false_per_frame)
        if n_false:
            wh = sizes[rng.integers(0, len(sizes), n_false)]
            x = rng.uniform(0, np.maximum(w - wh[:, 0], 1))
            y = rng.uniform(0, np.maximum(h - wh[:, 1], 1))
            boxes = np.concatenate([boxes, np.stack([x, y, x + wh[:, 0], y + wh[:, 1]], 1)])
            scores = np.concatenate([scores, rng.uniform(*false_scores, n_false)])
        dets[frame] = Detections(boxes, scores, np.zeros(len(boxes), np.int32))
    return dets


def _jittered(rng, gt, frame: int, dropout: float, jitter: float) -> np.ndarray:
    _, xyxy = gt.get(frame, (np.zeros(0, np.int64), np.zeros((0, 4), np.float32)))
    keep = rng.random(len(xyxy)) >= dropout
    boxes = xyxy[keep].astype(np.float64)
    h = (boxes[:, 3] - boxes[:, 1])[:, None]
    return boxes + rng.normal(0, jitter, boxes.shape) * h


def idf1(gt: dict, hyp: dict, iou: float = 0.5) -> dict:
    """IDF1, IDP, IDR of hypothesis tracks {frame: (ids, xyxy)} against ground truth."""
    pair = defaultdict(int)
    n_gt = sum(len(v[0]) for v in gt.values())
    n_hyp = sum(len(v[0]) for v in hyp.values())
    for frame, (gids, gboxes) in gt.items():
        if frame not in hyp or not len(hyp[frame][0]):
            continue
        hids, hboxes = hyp[frame]
        ok = iou_matrix(gboxes, hboxes) >= iou
        for gi, hi in zip(*np.nonzero(ok)):
            pair[(int(gids[gi]), int(hids[hi]))] += 1
    if not pair:
        return {"idf1": 0.0, "idp": 0.0, "idr": 0.0, "gt_boxes": n_gt, "hyp_boxes": n_hyp}
    g_index = {g: i for i, g in enumerate(sorted({g for g, _ in pair}))}
    h_index = {h: i for i, h in enumerate(sorted({h for _, h in pair}))}
    agree = np.zeros((len(g_index), len(h_index)))
    for (g, h), n in pair.items():
        agree[g_index[g], h_index[h]] = n
    rows, cols = linear_sum_assignment(-agree)
    idtp = float(agree[rows, cols].sum())
    return {"idf1": 2 * idtp / (n_gt + n_hyp), "idp": idtp / max(n_hyp, 1),
            "idr": idtp / max(n_gt, 1), "gt_boxes": n_gt, "hyp_boxes": n_hyp}
