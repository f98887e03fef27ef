"""Real photos for tests: JPEG crops of the photos that ship with scikit-image."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from skimage import data as skdata


def jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    """`image` (uint8, grey or RGB) as the bytes of a JPEG file."""
    buf = io.BytesIO()
    Image.fromarray(image).convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def real_jpegs(n: int, seed: int) -> list[bytes]:
    """n distinct real JPEGs: random 64x64 crops of scikit-image's photos."""
    sources = [skdata.chelsea(), skdata.coffee(), skdata.astronaut(), skdata.rocket()]
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = sources[i % len(sources)]
        y, x = rng.integers(0, img.shape[0] - 64), rng.integers(0, img.shape[1] - 64)
        out.append(jpeg(img[y : y + 64, x : x + 64]))
    return out
