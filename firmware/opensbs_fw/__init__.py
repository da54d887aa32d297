"""OpenSBS controller firmware (MicroPython; the same modules import under CPython).

Modules: crc16 and codec (control-link wire format), boardcfg (board file), thermistor,
pid, heater, pump, valve, trigger (one concept each, stepped with an explicit ``now_ms``),
controller (state, safety, command dispatch), hal_machine / hal_rp2 / hal_stm32 (hardware
layers), link (USB vendor bulk or CDC serial) and app (asyncio tasks, watchdog).
"""

FW_VERSION = (0, 1, 0)
