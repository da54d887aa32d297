"""The simulated controller board: the real firmware core on plant models, served to pyusb.

Public API::

    from opensbs.sim.board import SimBoard, SimBoardDevice, TriggerPulse, FlowCellParams
    board = SimBoard("pico", seed=0)          # real firmware core on plant models
    board.advance_ms(ms) | board.start_realtime(speed) / board.stop_realtime()
    board.add_trigger_listener(fn)            # fn(TriggerPulse(output, laser_mask, index,
                                              #                 start_us, exposure_us))
    board.temperature_c(zone), board.pump_volume_nl(pump), board.dispensed_nl(pump),
    board.valve_port(valve), board.clock.now_us, board.plant (fault injection)
    bus.attach(SimBoardDevice(board, serial_number="SIM-0"))   # virtual pyusb backend

See ``sim_board`` for the full simulator API, ``plant`` for the plant models, ``emulated`` for
the firmware on an emulated chip and ``virtual_repl`` for the virtual MicroPython REPL board.
"""

from .device import SimBoardDevice
from .plant import FlowCellParams
from .sim_board import SimBoard, TriggerPulse

__all__ = ["FlowCellParams", "SimBoard", "SimBoardDevice", "TriggerPulse"]
