"""Real photos for the face tests that ship inside installed packages (so a fresh clone
tests the real pipeline): scikit-image's astronaut (Eileen Collins, NASA, public domain)
and matplotlib's Grace Hopper, plus variants made from them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter


def _skimage_data(name: str) -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data" / name


def _matplotlib_data(name: str) -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / name


def astronaut() -> Image.Image:
    return Image.open(_skimage_data("astronaut.png")).convert("RGB")


def hopper() -> Image.Image:
    return Image.open(_matplotlib_data("grace_hopper.jpg")).convert("RGB")


def coffee() -> Image.Image:
    """A cup of coffee: no face."""
    return Image.open(_skimage_data("coffee.png")).convert("RGB")


def cat() -> Image.Image:
    """Chelsea the cat: a face, but not a person's."""
    return Image.open(_skimage_data("chelsea.png")).convert("RGB")


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def side_by_side(left: Image.Image, right: Image.Image) -> Image.Image:
    height = max(left.height, right.height)
    both = Image.new("RGB", (left.width + right.width, height), (128, 128, 128))
    both.paste(left, (0, 0))
    both.paste(right, (left.width, 0))
    return both


def blurred(image: Image.Image, radius: float = 6) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius))


def darkened(image: Image.Image, factor: float = 0.12) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(factor)


def shrunk(image: Image.Image, width: int) -> Image.Image:
    return image.resize((width, round(image.height * width / image.width)))


def mirrored(image: Image.Image) -> Image.Image:
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def noisy(image: Image.Image, seed: int = 1) -> Image.Image:
    """The same photo with sensor-like noise: a second capture, not a copy."""
    rng = np.random.default_rng(seed)
    pixels = np.asarray(image, dtype=np.int16) + rng.normal(0, 6, (image.height, image.width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
