"""OpenCV's HOG + linear SVM people detector: no weights to fetch, a fallback only.

    >>> det = HOGPersonDetector(threads=2)
    >>> len(det.detect(np.zeros((360, 480, 3), np.uint8)))
    0

It needs people at least ~128 px tall, so small frames are upscaled first (`upscale`).
"""
from __future__ import annotations

import cv2
import numpy as np

from vision.detections import Detections
from vision.detectors.base import check_frame, nms, person_detections


class HOGPersonDetector:
    name = "hog"

    def __init__(self, threads: int = 2, upscale: float = 1.0, score_threshold: float = 0.3,
                 iou_threshold: float = 0.5, win_stride: int = 8):
        cv2.setNumThreads(max(1, int(threads)))
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.upscale = float(upscale)
        self.score_threshold = float(score_threshold)
        self.iou_threshold = float(iou_threshold)
        self.win_stride = (int(win_stride), int(win_stride))

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        check_frame(frame_bgr)
        img = frame_bgr
        if self.upscale != 1.0:
            img = cv2.resize(frame_bgr, None, fx=self.upscale, fy=self.upscale, interpolation=cv2.INTER_LINEAR)
        rects, weights = self._hog.detectMultiScale(img, winStride=self.win_stride, padding=(8, 8), scale=1.05)
        if len(rects) == 0:
            return Detections.empty()
        rects = np.asarray(rects, np.float32) / self.upscale
        scores = np.asarray(weights, np.float32).reshape(-1)
        xyxy = np.column_stack([rects[:, 0], rects[:, 1], rects[:, 0] + rects[:, 2], rects[:, 1] + rects[:, 3]])
        keep = scores >= self.score_threshold
        xyxy, scores = xyxy[keep], scores[keep]
        order = nms(xyxy, scores, self.iou_threshold)
        return person_detections(xyxy[order], scores[order], frame_bgr.shape)
