"""PETS 2009 S2.L1 helpers shared by the vision benches: ground truth, IDF1, reference counts.

    gt = load_gt()                                   # {frame: (ids, xyxy)}
    print(idf1(gt, {f: (ids, boxes) for ...}))       # 0..1

IDF1 (Ristani et al., 2016) is computed here because motmetrics 1.4 fails on NumPy 2:
a hypothesis box matches a ground-truth box in a frame when IoU >= 0.5, and ids are paired
once for the whole clip by the Hungarian method, maximising the frames they agree on.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from vision.detections import Detections
from vision.tracker import iou_matrix

ROOT = Path(__file__).resolve().parents[1]
PETS = ROOT.parent / "shared" / "data" / "pets2009-s2l1"
VIDEO = PETS / "vtest.avi"
SCENE = ROOT / "vision" / "scenes" / "pets2009.json"

# Our "in" is a move to the side where cross(b - a, p - a) < 0 (see vision/lines.py); for the
# two reference segments that is x increasing on the vertical line and y decreasing on the other.
DIRECTION_NAMES = {
    "walkway_vertical_x240": {"in": "left_to_right", "out": "right_to_left"},
    "lawn_edge_horizontal_y220": {"in": "bottom_to_top", "out": "top_to_bottom"},
}


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
                     jitter: float = 0.04, false_rate: float = 0.05) -> dict[int, Detections]:
    """Ground-truth boxes made detector-like: jittered edges, missed boxes, stray boxes, scores."""
    rng = np.random.default_rng(seed)
    dets = {}
    for frame in range(1, num_frames + 1):
        ids, xyxy = gt.get(frame, (np.zeros(0, np.int64), np.zeros((0, 4), np.float32)))
        keep = rng.random(len(xyxy)) >= dropout
        boxes = xyxy[keep].astype(np.float64)
        h = (boxes[:, 3] - boxes[:, 1])[:, None]
        boxes = boxes + rng.normal(0, jitter, boxes.shape) * h
        scores = np.clip(rng.normal(0.75, 0.15, len(boxes)), 0.15, 0.99)
        n_false = rng.poisson(false_rate)
        if n_false:
            x = rng.uniform(0, 440, n_false)
            y = rng.uniform(0, 300, n_false)
            fb = np.stack([x, y, x + 20, y + 50], 1)
            boxes = np.concatenate([boxes, fb])
            scores = np.concatenate([scores, rng.uniform(0.1, 0.6, n_false)])
        dets[frame] = Detections(boxes, scores, np.zeros(len(boxes), np.int32))
    return dets


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
