"""Thermal and safety figures of the controller firmware on the simulated board.

Step 25 -> 65 C on the default flow-cell model (sensor noise on, seed 0): overshoot, time
to stay within +-0.5 C, steady-state error (mean of the last 120 s of a 10-minute run);
time from a thermistor open/short or over-temperature to heater off; time from the last
host frame to heaters and pumps off; trigger pulse timing; simulation speed.
Prints a table, then one JSON line.
"""

import json
import time

import numpy as np
from opensbs.protocol.control import MsgType, encode_frame
from opensbs.sim.board.sim_board import SimBoard

SETPOINT_C = 65.0
RUN_S = 600


class Host:
    def __init__(self, board: SimBoard) -> None:
        self.board = board
        self.seq = 0

    def send(self, msg_type: MsgType, fields: dict | None = None) -> None:
        self.seq = (self.seq + 1) & 0xFF
        self.board.send(encode_frame(msg_type, fields, seq=self.seq))
        self.board.receive()

    def run_s(self, seconds: float, sample: list[float] | None = None) -> None:
        for i in range(int(seconds * 10)):
            self.board.advance_ms(100)
            if sample is not None:
                sample.append(self.board.temperature_c(0))
            if i % 10 == 9:
                self.send(MsgType.HEARTBEAT, {"host_time_ms": self.board.clock.now_ms})


def heat(host: Host, setpoint_c: float = SETPOINT_C) -> None:
    host.send(MsgType.HEATER_SET, {"zone": 0, "enable": 1,
                                   "setpoint_mc": int(setpoint_c * 1000), "ramp_mc_per_s": 0})


def step_response() -> dict:
    board = SimBoard("pico", seed=0)
    host = Host(board)
    host.run_s(1)
    heat(host)
    temps: list[float] = []
    wall = time.perf_counter()
    host.run_s(RUN_S, temps)
    wall = time.perf_counter() - wall
    t = np.array(temps)
    time_s = 0.1 * np.arange(1, len(t) + 1)
    outside = np.nonzero(np.abs(t - SETPOINT_C) > 0.5)[0]
    settle_s = float(time_s[outside[-1]]) if len(outside) else 0.0
    tail = t[time_s > RUN_S - 120]
    return {"overshoot_c": round(float(t.max() - SETPOINT_C), 3), "settle_s": round(settle_s, 1),
            "steady_error_c": round(float(tail.mean() - SETPOINT_C), 4),
            "steady_std_c": round(float(tail.std()), 4),
            "sim_speedup_x": round(RUN_S / wall, 1)}


def _off_after(board: SimBoard, since_ms: int, limit_ms: int) -> int:
    while board.clock.now_ms - since_ms <= limit_ms:
        if board.heater_duty(0) == 0 and board.pump_rate_nl_per_s(0) == 0:
            return board.clock.now_ms - since_ms
        board.advance_ms(1)
    return -1


def trip_ms(kind: str) -> int:
    """ms from the fault appearing (mid-period) to heater 0 and the pump off."""
    board = SimBoard("pico", seed=0)
    host = Host(board)
    heat(host)
    host.send(MsgType.PUMP_MOVE, {"pump": 0, "volume_nl": -900_000, "rate_nl_per_s": 10_000})
    host.run_s(10)
    board.advance_ms(37)  # the fault arrives between control periods
    zone = board.plant.zones[0]
    if kind == "over_temperature":
        zone.block_c = zone.sensor_c = 111.0
    else:
        zone.sensor_fault = kind
    return _off_after(board, board.clock.now_ms, 1000)


def silence_ms() -> int:
    """ms from the last host frame to heaters and pumps off (timeout 3000 ms)."""
    board = SimBoard("pico", seed=0)
    host = Host(board)
    heat(host)
    host.send(MsgType.PUMP_MOVE, {"pump": 0, "volume_nl": -900_000, "rate_nl_per_s": 10_000})
    host.run_s(10)
    board.advance_ms(37)
    host.send(MsgType.HEARTBEAT, {"host_time_ms": 0})
    return _off_after(board, board.clock.now_ms, 10_000)


def trigger_timing() -> dict:
    board = SimBoard("pico", seed=0)
    host = Host(board)
    pulses = []
    board.add_trigger_listener(pulses.append)
    exposure_us, period_us, count = 20_000, 50_000, 200
    host.send(MsgType.TRIGGER_PROGRAM, {"output": 0, "exposure_us": exposure_us,
                                        "period_us": period_us, "pulse_count": count,
                                        "laser_mask": 0b0101})
    host.send(MsgType.TRIGGER_ARM, {"output": 0})
    board.advance_ms(3)
    fire_us = board.clock.now_us
    host.send(MsgType.TRIGGER_FIRE, {"output": 0})
    host.run_s(count * period_us / 1e6 + 1)
    starts = np.array([p.start_us for p in pulses])
    expected = fire_us + period_us * np.arange(count)
    return {"trigger_pulses": len(pulses), "trigger_pulses_programmed": count,
            "trigger_max_timing_error_us": int(np.abs(starts - expected).max()),
            "trigger_exposure_errors": sum(p.exposure_us != exposure_us for p in pulses)}


def main() -> None:
    figures = step_response()
    period_ms = SimBoard("pico").period_ms
    for kind in ("open", "short", "over_temperature"):
        figures[f"trip_{kind}_ms"] = trip_ms(kind)
    figures["control_period_ms"] = period_ms
    figures["host_silence_off_ms"] = silence_ms()
    figures["heartbeat_timeout_ms"] = 3000
    figures.update(trigger_timing())
    rows = [
        ("overshoot (C)", figures["overshoot_c"], "<= 1.0"),
        ("settle to +-0.5 C (s)", figures["settle_s"], "<= 60"),
        ("steady-state error, mean (C)", figures["steady_error_c"], "within +-0.1"),
        ("steady-state noise, std (C)", figures["steady_std_c"], ""),
        ("thermistor open -> off (ms)", figures["trip_open_ms"], f"<= {period_ms}"),
        ("thermistor short -> off (ms)", figures["trip_short_ms"], f"<= {period_ms}"),
        ("over-temperature -> off (ms)", figures["trip_over_temperature_ms"], f"<= {period_ms}"),
        ("host silence -> heaters+pumps off (ms)", figures["host_silence_off_ms"],
         f"3000 < t <= {3000 + period_ms}"),
        ("trigger pulses / programmed",
         f"{figures['trigger_pulses']} / {figures['trigger_pulses_programmed']}", "equal"),
        ("trigger max start error (us)", figures["trigger_max_timing_error_us"], "0"),
        ("simulation speed (x real time)", figures["sim_speedup_x"], ""),
    ]
    print(f"{'figure':42s} {'value':>12s}  target")
    for name, value, target in rows:
        print(f"{name:42s} {value!s:>12s}  {target}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
