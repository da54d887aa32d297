"""Typed errors of the base caller: every bad input raises a subclass of ``BasecallError``."""


class BasecallError(Exception):
    """Base class of every error raised by ``opensbs.basecall``."""


class ShapeError(BasecallError, ValueError):
    """An array has the wrong number of dimensions, shape or dtype for the stage it enters."""


class CifFormatError(BasecallError):
    """Bytes that are not a valid CIF intensity file (bad magic, version, size or truncated)."""


class QualityTableError(BasecallError):
    """A quality table file that is missing fields or inconsistent."""


class ImageSetError(BasecallError):
    """A stored image set (directory of cycle images) that is missing or inconsistent."""


class IntensityError(BasecallError, ValueError):
    """Intensities that cannot be called: not finite, complex, empty, no positive signal."""
