"""Bind a bus model to a DUT's ports by name prefix (``SensorBus.from_prefix(dut, "pix")``).

A bus class lists its signal names; ``from_prefix`` finds ``<prefix>_<name>`` on the DUT and
fails with the missing port names, so a renamed or forgotten port is a clear error.
"""

from __future__ import annotations

from typing import Any, ClassVar


class PortBus:
    """The DUT handles of one bus, as attributes named after the bus's signals."""

    signals: ClassVar[tuple[str, ...]] = ()

    def __init__(self, entity: Any, prefix: str) -> None:
        names = {name: f"{prefix}_{name}" if prefix else name for name in self.signals}
        missing = [port for port in names.values() if not hasattr(entity, port)]
        if missing:
            raise AttributeError(f"{type(self).__name__}: {entity._name} has no port "
                                 f"{', '.join(missing)}")
        self.prefix = prefix
        self.handles = {name: getattr(entity, port) for name, port in names.items()}
        for name, handle in self.handles.items():
            setattr(self, name, handle)

    @classmethod
    def from_prefix(cls, entity: Any, prefix: str) -> PortBus:
        """The bus whose ports are named ``<prefix>_<signal>`` on ``entity``."""
        return cls(entity, prefix)
