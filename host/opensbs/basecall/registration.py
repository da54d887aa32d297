"""Registration: sub-pixel translation of an image relative to a reference image.

Cross-correlation (mean removed) of a central patch, computed with real FFTs; the peak is
refined to sub-pixel precision by fitting a parabola to the log of the 3 x 3 neighbourhood
(exact for a Gaussian peak, which is what two PSF-blurred cluster images correlate to).
Convention: ``shift`` (dx, dy) in pixels means ``image(x, y) ~ reference(x - dx, y - dy)``: a
feature at (x, y) in the reference appears at (x + dx, y + dy) in the image.
"""

import numpy as np

from .errors import ShapeError

DEFAULT_PATCH_PX = 256


class Registrar:
    """Registers images against one reference image; the reference FFT is computed once."""

    def __init__(self, reference: np.ndarray, patch_px: int = DEFAULT_PATCH_PX) -> None:
        ref = np.asarray(reference, dtype=np.float32)
        if ref.ndim != 2:
            raise ShapeError(f"reference must be a 2-D image, got shape {ref.shape}")
        self.shape = ref.shape
        size = min(patch_px, ref.shape[0], ref.shape[1])
        self._rows = slice((ref.shape[0] - size) // 2, (ref.shape[0] - size) // 2 + size)
        self._cols = slice((ref.shape[1] - size) // 2, (ref.shape[1] - size) // 2 + size)
        self._size = size
        self._reference_fft = np.conj(np.fft.rfft2(_zero_mean(ref[self._rows, self._cols])))

    def shift_px(self, image: np.ndarray) -> np.ndarray:
        """(dx, dy) of ``image`` relative to the reference (|shift| < patch / 2)."""
        img = np.asarray(image)
        if img.shape != self.shape:
            raise ShapeError(f"image shape {img.shape} differs from the reference {self.shape}")
        patch = _zero_mean(img[self._rows, self._cols].astype(np.float32))
        correlation = np.fft.irfft2(np.fft.rfft2(patch) * self._reference_fft, s=patch.shape)
        row, col = np.unravel_index(int(np.argmax(correlation)), correlation.shape)
        dy = _refine(correlation[[(row - 1) % self._size, row, (row + 1) % self._size], col])
        dx = _refine(correlation[row, [(col - 1) % self._size, col, (col + 1) % self._size]])
        size = self._size
        shift_y = (row + size // 2) % size - size // 2 + dy
        shift_x = (col + size // 2) % size - size // 2 + dx
        return np.array([shift_x, shift_y])


def _zero_mean(patch: np.ndarray) -> np.ndarray:
    return patch - np.float32(patch.mean())


def _refine(values: np.ndarray) -> float:
    """Sub-sample offset of a peak from three samples (Gaussian fit, parabolic fallback)."""
    left, centre, right = (float(v) for v in values)
    if min(left, centre, right) > 0:
        left, centre, right = np.log(left), np.log(centre), np.log(right)
    denominator = left - 2.0 * centre + right
    if denominator >= 0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / denominator, -0.5, 0.5))
