"""Controller boards: board files, flashing, and the simulated board.

Public API::

    from opensbs.board import SimBoard, SimBoardDevice, TriggerPulse, FlowCellParams
    board = SimBoard("pico", seed=0)          # real firmware core on plant models
    board.advance_ms(ms) | board.start_realtime(speed) / board.stop_realtime()
    board.add_trigger_listener(fn)            # fn(TriggerPulse(output, laser_mask, index,
                                              #                 start_us, exposure_us))
    board.temperature_c(zone), board.pump_volume_nl(pump), board.dispensed_nl(pump),
    board.valve_port(valve), board.clock.now_us, board.plant (fault injection)
    bus.attach(SimBoardDevice(board, serial_number="SIM-0"))   # virtual pyusb backend

    from opensbs.board.schema import load_board, BoardFileError   # checked board files
    from opensbs.board.flash import flash_board                    # mpy-cross + mpremote

See ``sim`` for the full simulator API.
"""

from .device import SimBoardDevice
from .plant import FlowCellParams
from .sim import SimBoard, TriggerPulse

__all__ = ["FlowCellParams", "SimBoard", "SimBoardDevice", "TriggerPulse"]
