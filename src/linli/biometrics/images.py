"""Uploaded photos and terminal frames: bytes in, an RGB pixel array out, or a clear refusal.

Anything that is not a whole photo in a common format is refused before a model sees it,
with its own code: not an image, too large (bytes or pixels), truncated. The photo is
turned upright by its EXIF orientation and scaled down to :data:`MAX_SIDE` pixels (faces
need no more; the detector's time grows with the pixels).
"""

from __future__ import annotations

import dataclasses
import io
import warnings

import numpy as np
from django.utils.translation import gettext as _
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from linli.biometrics.engines import BiometricRefused, Image

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; more is refused unread (decompression bombs)
MAX_SIDE = 1280
FORMATS = {"JPEG", "PNG", "WEBP", "BMP", "PPM", "TIFF", "MPO"}


@dataclasses.dataclass(frozen=True)
class Decoded:
    """A decoded photo: its pixels (RGB), the format, and the scale applied (≤ 1)."""

    pixels: Image
    format: str
    scale: float


def decode(data: bytes) -> Decoded:
    """Decode ``data`` as a photo, or raise :class:`BiometricRefused`."""
    if len(data) > MAX_BYTES:
        raise BiometricRefused(
            "too_large",
            _("图片过大。"),
            {"bytes": len(data), "max_bytes": MAX_BYTES},
        )
    if not data:
        raise BiometricRefused("not_an_image", _("没有收到图片。"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            opened = PILImage.open(io.BytesIO(data))
            kind = str(opened.format or "")
            if kind not in FORMATS:
                raise BiometricRefused(
                    "not_an_image", _("不支持的图片格式。"), {"format": kind or None}
                )
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise BiometricRefused(
                    "too_large",
                    _("图片像素过多。"),
                    {"pixels": width * height, "max_pixels": MAX_PIXELS},
                )
            opened.load()
    except BiometricRefused:
        raise
    except (UnidentifiedImageError, PILImage.DecompressionBombError, ValueError) as exc:
        raise BiometricRefused(
            "not_an_image", _("无法识别的图片。"), {"error": str(exc)[:200]}
        ) from None
    except PILImage.DecompressionBombWarning as exc:
        raise BiometricRefused(
            "too_large", _("图片像素过多。"), {"error": str(exc)[:200]}
        ) from None
    except (OSError, SyntaxError) as exc:  # Pillow's word for a cut-off file
        raise BiometricRefused(
            "truncated_image", _("图片不完整（文件可能被截断）。"), {"error": str(exc)[:200]}
        ) from None
    upright = ImageOps.exif_transpose(opened) or opened
    rgb = upright.convert("RGB")
    scale = min(1.0, MAX_SIDE / max(rgb.size))
    if scale < 1.0:
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        rgb = rgb.resize(size, PILImage.Resampling.BILINEAR)
    return Decoded(np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)), kind, scale)
