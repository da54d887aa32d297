"""Optical artefacts of a real tile: illumination fall-off, bubbles, dust, focus and tilt.

* **Edge fall-off**: the excitation spot and the objective's field are brightest in the centre;
  a cluster at normalised radius ``r`` (0 centre, 1 corner) is lit ``1 - falloff · r²``.
* **Bubbles**: a bubble in the flow cell blocks light over a disc for a few cycles; clusters
  under it show ``transmission`` of their signal. Bubbles appear as a Poisson process per tile
  and cycle (``rate``), last ``lifetime`` cycles and have radius ``radius_px``.
* **Dust**: fluorescent particles on the flow-cell glass, fixed for the run, shine in every
  channel (broadband autofluorescence); each is a disc of ``DUST_POINTS`` point sources.
* **Focus and tilt**: the PSF widens with defocus. ``sigma(t, x) = psf + drift · (t - 1) + jitter
  noise + tilt · (x / width - 1/2)``: a slow focus drift over the run, a per-cycle autofocus
  error, and a tilt of the flow cell across the tile, rendered in vertical strips.

Every effect is off at 0. Their sizes in the presets, and where they come from, are listed in
docs/simulator.md.
"""

from dataclasses import dataclass

import numpy as np

from .optics import PSF_TRUNCATE_SIGMAS, apply_psf

DUST_POINTS = 24
FOCUS_STRIPS = 8
MIN_PSF_SIGMA_PX = 0.4


def illumination_gain(positions_px: np.ndarray, width: int, height: int,
                      falloff: float) -> np.ndarray:
    """(n,) float32 relative illumination at the clusters (1 at the centre)."""
    dx = (positions_px[:, 0] - (width - 1) / 2.0) / (width / 2.0)
    dy = (positions_px[:, 1] - (height - 1) / 2.0) / (height / 2.0)
    return (1.0 - falloff * (dx * dx + dy * dy) / 2.0).astype(np.float32)


@dataclass(frozen=True)
class Bubbles:
    """Bubble discs: centre (x, y), radius and the cycles (1-based, inclusive) they last."""

    centres_px: np.ndarray  # (m, 2)
    radius_px: np.ndarray  # (m,)
    first_cycle: np.ndarray  # (m,)
    last_cycle: np.ndarray  # (m,)

    @classmethod
    def plan(cls, rng: np.random.Generator, cycles: int, rate_per_cycle: float,
             radius_px: float, lifetime_cycles: int, width: int, height: int) -> "Bubbles":
        """Draw the bubbles of a whole read (Poisson count per cycle)."""
        counts = rng.poisson(rate_per_cycle, cycles)
        first = np.repeat(np.arange(1, cycles + 1), counts)
        m = first.size
        centres = rng.uniform(0.0, 1.0, (m, 2)) * (width, height)
        radius = radius_px * rng.uniform(0.5, 1.5, m)
        return cls(centres, radius, first, first + lifetime_cycles - 1)

    def gain(self, positions_px: np.ndarray, cycle: int, transmission: float) -> np.ndarray | None:
        """(n,) float32 transmission at ``cycle``, or None when no bubble is present."""
        active = np.flatnonzero((self.first_cycle <= cycle) & (self.last_cycle >= cycle))
        if active.size == 0:
            return None
        gain = np.ones(len(positions_px), dtype=np.float32)
        for index in active:
            d2 = ((positions_px - self.centres_px[index]) ** 2).sum(axis=1)
            gain[d2 <= self.radius_px[index] ** 2] = transmission
        return gain


def plan_dust(rng: np.random.Generator, count_mean: float, brightness_e: float,
              radius_px: float, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Dust particles as point sources: (positions (k, 2), photo-electrons per point (k,))."""
    count = int(rng.poisson(count_mean))
    centres = rng.uniform(0.0, 1.0, (count, 2)) * (width, height)
    sizes = radius_px * rng.uniform(0.5, 1.5, count)
    angle = rng.uniform(0.0, 2.0 * np.pi, (count, DUST_POINTS))
    radius = np.sqrt(rng.uniform(0.0, 1.0, (count, DUST_POINTS))) * sizes[:, None]
    points = centres[:, None, :] + np.stack([radius * np.cos(angle), radius * np.sin(angle)],
                                            axis=2)
    per_point = brightness_e * rng.lognormal(0.0, 0.5, count) / DUST_POINTS
    return points.reshape(-1, 2), np.repeat(per_point, DUST_POINTS).astype(np.float32)


def apply_psf_field(image: np.ndarray, sigma_px: float, tilt_px: float) -> np.ndarray:
    """Blur in place with a PSF whose sigma varies linearly across x by ``tilt_px`` (centre
    ``sigma_px``), in ``FOCUS_STRIPS`` vertical strips; no tilt: one Gaussian blur."""
    if tilt_px == 0.0:
        return apply_psf(image, max(sigma_px, MIN_PSF_SIGMA_PX))
    width = image.shape[1]
    source = image.copy()
    edges = np.linspace(0, width, FOCUS_STRIPS + 1).astype(int)
    for left, right in zip(edges[:-1], edges[1:], strict=True):
        centre = (left + right - 1) / 2.0
        sigma = max(sigma_px + tilt_px * (centre / width - 0.5), MIN_PSF_SIGMA_PX)
        margin = int(np.ceil(PSF_TRUNCATE_SIGMAS * sigma)) + 1
        lo, hi = max(left - margin, 0), min(right + margin, width)
        slab = np.ascontiguousarray(source[:, lo:hi])
        apply_psf(slab, sigma)
        image[:, left:right] = slab[:, left - lo:right - lo]
    return image
