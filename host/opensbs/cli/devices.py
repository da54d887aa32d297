"""`opensbs devices`: list attached OpenSBS USB devices."""

from ._app import app


@app.command()
def devices() -> None:
    """List attached controller boards and camera bridges (VID/PID, serial, bus/address)."""
    raise NotImplementedError("USB discovery lands with the transports (issue 2)")
