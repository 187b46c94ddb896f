"""CenterFace face detector: boxes, scores and 5 landmarks (eyes, nose tip, mouth corners).

    >>> faces = CenterFaceDetector(models_dir / "centerface.onnx", threads=2).detect(image_bgr)  # doctest: +SKIP
    >>> faces.xyxy, faces.landmarks                                                                # doctest: +SKIP

The graph is fully convolutional once `station.weights` has made its input size symbolic; it
wants raw RGB values (0..255, no mean) and a height and width that are multiples of 32.
Outputs are stride-4 maps: centre heatmap, log box size, centre offset and landmark offsets.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vision.detections import Detections
from vision.detectors.base import check_frame, nms, onnx_session

FACE = 1


class CenterFaceDetector:
    def __init__(self, model_path: Path, threads: int = 2, score_threshold: float = 0.5,
                 iou_threshold: float = 0.3):
        self._session = onnx_session(model_path, threads, "face model")
        self._input = self._session.get_inputs()[0].name
        self.score_threshold = float(score_threshold)
        self.iou_threshold = float(iou_threshold)

    def detect(self, image_bgr: np.ndarray, max_side: int = 640) -> Detections:
        """Faces in the image; it is resized so its longer side is at most `max_side` (then to /32)."""
        check_frame(image_bgr)
        h, w = image_bgr.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        # Round the network size to multiples of 32 and remember the separate x/y factors.
        net_w = max(32, int(round(w * scale / 32)) * 32)
        net_h = max(32, int(round(h * scale / 32)) * 32)
        blob = cv2.dnn.blobFromImage(image_bgr, 1.0, (net_w, net_h), (0, 0, 0), swapRB=True, crop=False)
        heat, size, offset, lms = self._session.run(None, {self._input: blob})
        xyxy, scores, landmarks = self._decode(heat[0, 0], size[0], offset[0], lms[0], net_w, net_h)
        if len(xyxy):
            sx, sy = w / net_w, h / net_h
            xyxy *= np.array([sx, sy, sx, sy], np.float32)
            landmarks *= np.array([sx, sy], np.float32)
            keep = nms(xyxy, scores, self.iou_threshold)
            xyxy, scores, landmarks = xyxy[keep], scores[keep], landmarks[keep]
        return Detections(xyxy=xyxy, confidence=scores, class_id=np.full(len(xyxy), FACE, np.int32),
                          landmarks=landmarks)

    def _decode(self, heat, size, offset, lms, net_w, net_h):
        ys, xs = np.nonzero(heat > self.score_threshold)
        if len(ys) == 0:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
        bh = np.exp(size[0, ys, xs]) * 4
        bw = np.exp(size[1, ys, xs]) * 4
        x1 = np.clip((xs + offset[1, ys, xs] + 0.5) * 4 - bw / 2, 0, net_w)
        y1 = np.clip((ys + offset[0, ys, xs] + 0.5) * 4 - bh / 2, 0, net_h)
        xyxy = np.stack([x1, y1, np.minimum(x1 + bw, net_w), np.minimum(y1 + bh, net_h)], 1)
        # Landmark channels come in (y, x) pairs, relative to the box's top-left, in box units.
        lm_y = lms[0::2, ys, xs].T * bh[:, None] + y1[:, None]
        lm_x = lms[1::2, ys, xs].T * bw[:, None] + x1[:, None]
        landmarks = np.stack([lm_x, lm_y], axis=-1)
        return xyxy.astype(np.float32), heat[ys, xs].astype(np.float32), landmarks.astype(np.float32)
