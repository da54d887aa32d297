"""Board file: load and validate the JSON board definition (pins, sensors, limits, USB ids).

The same checks run on the board (a failure puts the firmware in its safe state) and on the
host (``opensbs.board.schema``). Errors are BoardConfigError naming the field path, e.g.
``heaters[0].thermistor.beta: must be a number > 0``.
"""

import json

from .crc16 import crc32

BOARD_FILE = "board.json"
MAX_ITEMS = 8  # masks on the wire are u8
MCU_ARCH = {"rp2040": "armv6m", "stm32f411": "armv7emsp"}
TRANSPORTS = ("vendor_bulk", "cdc")


class BoardConfigError(Exception):
    """The board file is missing, unreadable, or a field is wrong (named in the message)."""


def _fail(path: str, problem: str) -> None:
    raise BoardConfigError(path + ": " + problem)


def _only(obj: dict, path: str, allowed: tuple) -> None:
    """Reject keys the schema does not know (a misspelt optional field would be ignored)."""
    for key in obj:
        if key not in allowed:
            _fail(path + str(key), "unknown field")


def _get(obj: dict, key: str, path: str):
    if key not in obj:
        _fail(path + key, "missing")
    return obj[key]


def _int(obj: dict, key: str, path: str, lo: int, hi: int) -> int:
    value = _get(obj, key, path)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        _fail(path + key, "must be an integer in [" + str(lo) + ", " + str(hi) + "]")
    return value


def _num(obj: dict, key: str, path: str, lo: float, hi: float) -> float:
    value = _get(obj, key, path)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        _fail(path + key, "must be a number in [" + str(lo) + ", " + str(hi) + "]")
    return value


def _str(obj: dict, key: str, path: str, choices=None, max_len: int = 32) -> str:
    value = _get(obj, key, path)
    if not isinstance(value, str) or not 0 < len(value) <= max_len:
        _fail(path + key, "must be a non-empty string of at most " + str(max_len) + " chars")
    if choices is not None and value not in choices:
        _fail(path + key, "must be one of " + ", ".join(choices))
    return value


def _obj(obj: dict, key: str, path: str) -> dict:
    value = _get(obj, key, path)
    if not isinstance(value, dict):
        _fail(path + key, "must be an object")
    return value


def _list(obj: dict, key: str, path: str, max_len: int = MAX_ITEMS) -> list:
    value = _get(obj, key, path)
    if not isinstance(value, list) or len(value) > max_len:
        _fail(path + key, "must be a list of at most " + str(max_len) + " entries")
    for i, item in enumerate(value):
        if not isinstance(item, (dict, str)):
            _fail(path + key + "[" + str(i) + "]", "must be an object or pin name")
    return value


def _objects(cfg: dict, key: str) -> list:
    items = _list(cfg, key, "")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            _fail(key + "[" + str(i) + "]", "must be an object")
    return items


def _check_heater(h: dict, p: str) -> None:
    _only(h, p, ("name", "pwm_pin", "pwm_freq_hz", "adc_pin", "thermistor", "filter_tau_ms",
                 "pid", "max_duty_permille", "min_setpoint_mc", "max_setpoint_mc",
                 "over_temperature_mc", "max_ramp_mc_per_s", "runaway"))
    _str(h, "name", p)
    _str(h, "pwm_pin", p)
    _int(h, "pwm_freq_hz", p, 1, 100000)
    _str(h, "adc_pin", p)
    t = _obj(h, "thermistor", p)
    tp = p + "thermistor."
    _only(t, tp, ("model", "r25_ohm", "beta", "series_ohm", "short_below_u16",
                  "open_above_u16"))
    _str(t, "model", tp, ("beta",))
    _num(t, "r25_ohm", tp, 1, 10000000)
    _num(t, "beta", tp, 100, 100000)
    _num(t, "series_ohm", tp, 1, 10000000)
    short_below = _int(t, "short_below_u16", tp, 0, 65535)
    if _int(t, "open_above_u16", tp, 0, 65535) <= short_below:
        _fail(tp + "open_above_u16", "must be greater than short_below_u16")
    _int(h, "filter_tau_ms", p, 0, 60000)
    g = _obj(h, "pid", p)
    gp = p + "pid."
    _only(g, gp, ("kp", "ki", "kd", "integral_band_mc"))
    for key in ("kp", "ki", "kd"):
        _num(g, key, gp, 0, 1000)
    _int(g, "integral_band_mc", gp, 0, 1000000)
    _int(h, "max_duty_permille", p, 1, 1000)
    lo = _int(h, "min_setpoint_mc", p, -50000, 200000)
    hi = _int(h, "max_setpoint_mc", p, -50000, 200000)
    if hi <= lo:
        _fail(p + "max_setpoint_mc", "must be greater than min_setpoint_mc")
    if _int(h, "over_temperature_mc", p, -50000, 250000) <= hi:
        _fail(p + "over_temperature_mc", "must be greater than max_setpoint_mc")
    _int(h, "max_ramp_mc_per_s", p, 1, 1000000)
    r = _obj(h, "runaway", p)
    rp = p + "runaway."
    _only(r, rp, ("duty_permille", "window_ms", "min_rise_mc"))
    _int(r, "duty_permille", rp, 1, 1000)
    _int(r, "window_ms", rp, 1000, 600000)
    _int(r, "min_rise_mc", rp, 1, 100000)


def _check_pump(q: dict, p: str) -> None:
    _only(q, p, ("name", "step_pin", "dir_pin", "enable_pin", "steps_per_ul",
                 "max_rate_nl_per_s", "accel_nl_per_s2", "capacity_nl"))
    for key in ("name", "step_pin", "dir_pin", "enable_pin"):
        _str(q, key, p)
    _num(q, "steps_per_ul", p, 0.001, 1000000)
    _int(q, "max_rate_nl_per_s", p, 1, 0x7FFFFFFF)
    _int(q, "accel_nl_per_s2", p, 1, 0x7FFFFFFF)
    _int(q, "capacity_nl", p, 1, 0x7FFFFFFF)


def _check_valve(v: dict, p: str) -> None:
    _only(v, p, ("name", "ports", "select_pins", "ready_pin", "timeout_ms"))
    _str(v, "name", p)
    ports = _int(v, "ports", p, 2, 255)
    pins = _list(v, "select_pins", p)
    if (1 << len(pins)) < ports:
        _fail(p + "select_pins", "too few pins to encode " + str(ports) + " ports")
    for i, pin in enumerate(pins):
        if not isinstance(pin, str):
            _fail(p + "select_pins[" + str(i) + "]", "must be a pin name")
    _str(v, "ready_pin", p)
    _int(v, "timeout_ms", p, 10, 600000)


def _check_trigger(t: dict, p: str, mcu: str) -> None:
    keys = ("name", "pin", "laser_pins", "min_exposure_us", "max_exposure_us", "min_gap_us")
    _only(t, p, keys + ("timer",) if mcu == "stm32f411" else keys)
    _str(t, "name", p)
    if mcu == "stm32f411":  # the hardware timer channel behind the trigger pin
        timer = _obj(t, "timer", p)
        _only(timer, p + "timer.", ("id", "channel"))
        _int(timer, "id", p + "timer.", 1, 14)
        _int(timer, "channel", p + "timer.", 1, 4)
    _str(t, "pin", p)
    lasers = _list(t, "laser_pins", p)
    for i, pin in enumerate(lasers):
        if not isinstance(pin, str):
            _fail(p + "laser_pins[" + str(i) + "]", "must be a pin name")
    lo = _int(t, "min_exposure_us", p, 1, 0xFFFFFFFF)
    if _int(t, "max_exposure_us", p, 1, 0xFFFFFFFF) < lo:
        _fail(p + "max_exposure_us", "must be at least min_exposure_us")
    _int(t, "min_gap_us", p, 0, 0xFFFFFFFF)


def validate(cfg) -> dict:
    """Check a parsed board file; returns it, or raises BoardConfigError naming the field."""
    if not isinstance(cfg, dict):
        _fail("(root)", "must be a JSON object")
    _only(cfg, "", ("schema", "board_id", "mcu", "mpy_arch", "usb", "control_period_ms",
                    "telemetry_period_ms", "heartbeat_timeout_ms", "watchdog_timeout_ms",
                    "frame_silence_ms", "adc_bits", "status_led_pin", "heaters", "pumps", "valves", "triggers"))
    _int(cfg, "schema", "", 1, 1)
    _str(cfg, "board_id", "")
    mcu = _str(cfg, "mcu", "", tuple(MCU_ARCH))
    if _str(cfg, "mpy_arch", "") != MCU_ARCH[mcu]:
        _fail("mpy_arch", "must be " + MCU_ARCH[mcu] + " for " + mcu)
    usb = _obj(cfg, "usb", "")
    _only(usb, "usb.", ("vid", "pid", "transport"))
    _int(usb, "vid", "usb.", 1, 0xFFFF)
    _int(usb, "pid", "usb.", 1, 0xFFFF)
    _str(usb, "transport", "usb.", TRANSPORTS)
    _int(cfg, "control_period_ms", "", 10, 1000)
    _int(cfg, "telemetry_period_ms", "", 100, 60000)
    _int(cfg, "heartbeat_timeout_ms", "", 200, 600000)
    _int(cfg, "watchdog_timeout_ms", "", 100, 8388)
    _int(cfg, "frame_silence_ms", "", 1, 1000)  # a partial frame is dropped after this
    _int(cfg, "adc_bits", "", 8, 16)
    _str(cfg, "status_led_pin", "")
    for key, check in (("heaters", _check_heater), ("pumps", _check_pump),
                       ("valves", _check_valve)):
        for i, item in enumerate(_objects(cfg, key)):
            check(item, key + "[" + str(i) + "].")
    for i, item in enumerate(_objects(cfg, "triggers")):
        _check_trigger(item, "triggers[" + str(i) + "].", mcu)
    return cfg


def parse(raw) -> tuple:
    """(validated board dict, CRC-32 of the file bytes) from the file's bytes."""
    try:
        cfg = json.loads(raw)
    except (ValueError, UnicodeError) as exc:
        raise BoardConfigError("(file): not valid JSON: " + str(exc)) from None
    return validate(cfg), crc32(raw)


def load(path: str = BOARD_FILE) -> tuple:
    """(validated board dict, CRC-32) from the board file at ``path``."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        raise BoardConfigError("(file): cannot read " + path) from None
    return parse(raw)
