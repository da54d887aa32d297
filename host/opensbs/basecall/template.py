"""Template generation: cluster detection with sub-pixel positions from the first cycles.

Every channel image of the first cycles is background-subtracted, registered to the first
cycle (sub-pixel, per channel) and shifted onto that frame. A first detection on the sum of
each cycle's brightest-channel image gives enough clusters to estimate the colour matrix; the
images are then colour-corrected pixel by pixel so each channel shows only the clusters
carrying its dye, peaks are detected in every (cycle, channel) image and detections of the same
cluster are merged. Two overlapping clusters show different bases in most cycles, so they are
found as two. Where a channel shows several bases (two-colour), per-base contrast images
(e.g. blue - green for A) are searched as well. Peaks are local maxima of the lightly
smoothed image above a noise-derived threshold, refined to sub-pixel positions by a Gaussian
fit of the 3 x 3 neighbourhood.
Positions are (x, y) pixels in the frame of cycle 1 (x = column).
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .background import background_field
from .chemistry import Chemistry
from .crosstalk import estimate_colour_model
from .errors import BasecallError, ShapeError
from .extraction import extract_intensities
from .registration import Registrar

NOISE_THRESHOLD_SIGMAS = 6.0
MIN_PEAK_FRACTION = 0.15
MERGE_RADIUS_PX = 0.6
MIN_COLOUR_MODEL_CLUSTERS = 200  # crosstalk needs 50 pure clusters per channel


@dataclass(frozen=True)
class Template:
    """Detected clusters and the reference image later cycles are registered to."""

    positions_px: np.ndarray  # (n, 2) float64 x, y in the template frame
    image: np.ndarray  # (H, W) float32 template image (template frame)
    shifts_px: np.ndarray  # (cycles, channels, 2) registration of the template cycles


def subtract_background(image: np.ndarray) -> np.ndarray:
    """``image`` minus its local background, as float32."""
    return image.astype(np.float32) - background_field(image)


def shift_image(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``image`` resampled bilinearly at (x + dx, y + dy): undoes a registration shift."""
    ix, iy = int(np.floor(dx)), int(np.floor(dy))
    fx, fy = np.float32(dx - ix), np.float32(dy - iy)
    pad = max(abs(ix), abs(iy)) + 2
    padded = np.pad(image, pad, mode="edge")
    height, width = image.shape
    base = padded[pad + iy: pad + iy + height + 1, pad + ix: pad + ix + width + 1]
    top = base[:-1, :-1] * ((1 - fx) * (1 - fy))
    top += base[:-1, 1:] * (fx * (1 - fy))
    top += base[1:, :-1] * ((1 - fx) * fy)
    top += base[1:, 1:] * (fx * fy)
    return top


def smooth_binomial(image: np.ndarray) -> np.ndarray:
    """Separable [1, 2, 1] / 4 smoothing (a Gaussian of sigma ~0.7 px), edges replicated."""
    padded = np.pad(image.astype(np.float32, copy=False), 1, mode="edge")
    rows = padded[:-2] + padded[2:]
    rows += 2 * padded[1:-1]
    out = rows[:, :-2] + rows[:, 2:]
    out += 2 * rows[:, 1:-1]
    out *= np.float32(1 / 16)
    return out


def build_template(cycle_images: list[np.ndarray], chemistry: Chemistry) -> Template:
    """Detect clusters in the first cycles' images, each (channels, H, W)."""
    if not cycle_images:
        raise BasecallError("template generation needs at least one cycle of images")
    shape = np.shape(cycle_images[0])
    if len(shape) != 3 or any(np.shape(c) != shape for c in cycle_images):
        raise ShapeError(f"template cycles must all be (channels, H, W), got {shape}")
    if shape[0] != chemistry.n_channels:
        raise ShapeError(f"{chemistry.name} needs {chemistry.n_channels} channels, got {shape[0]}")
    corrected = [[subtract_background(ch) for ch in cycle] for cycle in cycle_images]
    registrar = Registrar(np.sum(corrected[0], axis=0))
    shifts = np.array([[registrar.shift_px(ch) for ch in cycle] for cycle in corrected])
    aligned = np.array([[shift_image(ch, shifts[t, c, 0], shifts[t, c, 1])
                         for c, ch in enumerate(cycle)] for t, cycle in enumerate(corrected)])
    scales = np.maximum(np.percentile(aligned[0], 99.5, axis=(1, 2)), 1e-6)
    summed = (aligned / scales[None, :, None, None].astype(np.float32)).max(axis=1).sum(axis=0)
    coarse = detect_clusters(summed)
    inverse, offset = _colour_correction(aligned, coarse, chemistry)
    detections = []
    for cycle in aligned:
        unmixed = np.tensordot(inverse, cycle - offset[:, None, None], axes=1)
        detections += [detect_clusters(channel) for channel in unmixed]
        contrasts = base_contrast_images(unmixed, chemistry)
        if contrasts:
            noise = max(smoothed_noise(channel) for channel in unmixed)
            detections += [detect_clusters(image, noise) for image in contrasts]
    positions = merge_detections(np.concatenate(detections), len(cycle_images))
    final = Registrar(summed)
    shifts = np.array([[final.shift_px(ch) for ch in cycle] for cycle in corrected])
    return Template(positions, summed, shifts)


def base_contrast_images(unmixed: np.ndarray, chemistry: Chemistry) -> list[np.ndarray]:
    """Extra detection images where a channel shows more than one base (two-colour).

    Each base with a signal gets the weakest of its channels minus the strongest of the
    channels it is dark in: in two-colour A (blue - green), C (the lower of both) and T
    (green - blue), so an A next to a C or T is seen apart although both light the blue or
    green image. None for four-colour, whose channels already show one base each.
    """
    lit_by_base = chemistry.signature.T > 0.5
    if np.array_equal(lit_by_base, np.eye(unmixed.shape[0], dtype=bool)):
        return []
    images = []
    for lit in lit_by_base:
        if not lit.any():
            continue
        image = unmixed[lit].min(axis=0)
        if (~lit).any():
            image = image - unmixed[~lit].max(axis=0)
        images.append(image)
    return images


def _colour_correction(aligned: np.ndarray, coarse_px: np.ndarray, chemistry: Chemistry
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Inverse colour matrix and channel offsets (float32) that make each channel image show
    only its dye's clusters; identity and zero where too few clusters or cycles pin them down
    (a small tile): every channel image is then searched as recorded."""
    n_channels = aligned.shape[1]
    identity = (np.eye(n_channels, dtype=np.float32), np.zeros(n_channels, np.float32))
    if aligned.shape[0] < 2 or coarse_px.shape[0] < MIN_COLOUR_MODEL_CLUSTERS:
        return identity
    zero = np.zeros((n_channels, 2))
    samples = np.stack([extract_intensities(a, coarse_px, zero) for a in aligned], axis=1)
    try:
        model = estimate_colour_model(samples, chemistry)
    except BasecallError:
        return identity
    return np.linalg.inv(model.matrix).astype(np.float32), model.offset.astype(np.float32)


def merge_detections(points_px: np.ndarray, n_cycles: int) -> np.ndarray:
    """One position per group of detections lying within ``MERGE_RADIUS_PX`` of each other.

    A cluster is seen in its base's channel in every template cycle; groups seen fewer than
    ``min(2, n_cycles)`` times (noise, or two same-base neighbours merged once) are dropped.
    """
    pairs = cKDTree(points_px).query_pairs(MERGE_RADIUS_PX, output_type="ndarray")
    n = points_px.shape[0]
    graph = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    n_groups, label = connected_components(graph, directed=False)
    count = np.bincount(label, minlength=n_groups)
    sums = np.stack([np.bincount(label, weights=points_px[:, k], minlength=n_groups)
                     for k in range(2)], axis=1)
    keep = count >= min(2, n_cycles)
    merged = sums[keep] / count[keep, None]
    return merged[np.lexsort((merged[:, 0], merged[:, 1]))]  # row order: fast extraction


def smoothed_noise(image: np.ndarray) -> float:
    """Robust noise of the smoothed image, from the pixels below its median (no clusters)."""
    sample = smooth_binomial(np.asarray(image, dtype=np.float32))[::4, ::4]
    lower = sample[sample < np.median(sample)]
    return 1.4826 * float(np.median(np.abs(lower - np.median(lower)))) if lower.size else 0.0


def detect_clusters(image: np.ndarray, noise: float | None = None) -> np.ndarray:
    """Sub-pixel (x, y) of the local maxima of a background-free cluster image.

    ``noise``: the smoothed image's noise, if known (else estimated from the image).
    """
    smooth = smooth_binomial(np.asarray(image, dtype=np.float32))
    if noise is None:
        noise = smoothed_noise(image)
    height, width = smooth.shape
    inner = np.zeros_like(smooth, dtype=bool)
    inner[1:-1, 1:-1] = smooth[1:-1, 1:-1] > NOISE_THRESHOLD_SIGMAS * noise
    flat = smooth.reshape(-1)
    index = np.flatnonzero(inner)
    values = flat[index]
    for step in (-width - 1, -width, -width + 1, -1, 1, width - 1, width, width + 1):
        keep = values >= flat[index + step]
        index, values = index[keep], values[keep]
    if index.size == 0:
        return np.empty((0, 2))
    floor = MIN_PEAK_FRACTION * float(np.median(values))
    index = index[values > floor]
    rows, cols = np.divmod(index, width)

    def log_at(offset: int) -> np.ndarray:
        return np.log(np.maximum(flat[index + offset], 1e-6))

    centre = log_at(0)
    dx = _gauss_offset(log_at(-1), centre, log_at(1))
    dy = _gauss_offset(log_at(-width), centre, log_at(width))
    return np.column_stack([cols + dx, rows + dy])


def _gauss_offset(left: np.ndarray, centre: np.ndarray, right: np.ndarray) -> np.ndarray:
    denominator = left - 2.0 * centre + right
    offset = np.divide(0.5 * (left - right), denominator, out=np.zeros_like(centre),
                       where=denominator < 0)
    return np.clip(offset, -0.5, 0.5)
