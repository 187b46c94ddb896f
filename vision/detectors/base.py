"""The one interface every person detector offers, and helpers they share."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import onnxruntime as ort

from vision.detections import Detections

PERSON = 0


class PersonDetector(Protocol):
    """``detect(frame_bgr) -> Detections`` with class_id 0, xyxy in frame pixels, confidence."""

    name: str

    def detect(self, frame_bgr: np.ndarray) -> Detections: ...


def check_frame(frame_bgr: np.ndarray) -> None:
    """Reject what is not a BGR uint8 image with a message that says what arrived."""
    if not isinstance(frame_bgr, np.ndarray):
        raise TypeError(f"frame must be a numpy array, got {type(frame_bgr).__name__}")
    if frame_bgr.dtype != np.uint8 or frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
        raise ValueError(f"frame must be an HxWx3 uint8 BGR image, got {frame_bgr.dtype} {frame_bgr.shape}")
    if frame_bgr.shape[0] < 2 or frame_bgr.shape[1] < 2:
        raise ValueError(f"frame is too small: {frame_bgr.shape}")


def onnx_session(path, threads: int, what: str = "model") -> ort.InferenceSession:
    """A CPU session that uses exactly `threads` cores for one operator and runs operators in order.

    A missing file is a FileNotFoundError that names `what` and says how to get it."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{what} not found: {path}; run `cx-station models fetch`")
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    # Idle pool threads must not spin: the pipeline runs several sessions (people, faces, age,
    # gender) back to back with decoding in between, and spinning threads of one session
    # steal the cores the next one needs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def nms(xyxy: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best first."""
    if len(xyxy) == 0:
        return np.zeros(0, dtype=np.int64)
    xywh = np.column_stack([xyxy[:, 0], xyxy[:, 1], xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]])
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.astype(float).tolist(), 0.0, float(iou))
    return np.asarray(keep, dtype=np.int64).reshape(-1)


def person_detections(xyxy: np.ndarray, scores: np.ndarray, frame_shape) -> Detections:
    """Clip to the frame and drop empty boxes; class_id is always PERSON."""
    h, w = frame_shape[:2]
    xyxy = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4).copy()
    xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
    xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
    ok = (xyxy[:, 2] - xyxy[:, 0] >= 1) & (xyxy[:, 3] - xyxy[:, 1] >= 1)
    xyxy, scores = xyxy[ok], np.asarray(scores, dtype=np.float32)[ok]
    return Detections(xyxy=xyxy, confidence=scores, class_id=np.full(len(xyxy), PERSON, np.int32))
