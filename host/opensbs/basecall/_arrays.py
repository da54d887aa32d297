"""Shape checks shared by the stages: every stage validates its inputs with these."""

import numpy as np

from .errors import ShapeError


def as_float_array(values: object, ndim: int, name: str, last_dim: int | None = None) -> np.ndarray:
    """``values`` as a float32 array of ``ndim`` dimensions (and last axis ``last_dim``)."""
    array = np.asarray(values)
    if array.ndim != ndim:
        raise ShapeError(f"{name} must have {ndim} dimensions, got shape {array.shape}")
    if last_dim is not None and array.shape[-1] != last_dim:
        raise ShapeError(f"{name} must have {last_dim} entries on its last axis, got {array.shape}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ShapeError(f"{name} must be numeric, got dtype {array.dtype}")
    return np.asarray(array, dtype=np.float32)
