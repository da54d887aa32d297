"""Firmware checks run under the real MicroPython (WebAssembly port) by test_fw_micropython.py.

Needs /golden.json (protocol golden vectors), /board.json (pico board file) and the
firmware package at /opensbs_fw. Prints one "ok <check>" line per check and "ALL OK" last;
any failure raises and the runner exits non-zero.
"""

import json
import sys

from opensbs_fw import boardcfg, codec, crc16, heater, pid
from opensbs_fw.controller import Controller

assert sys.implementation.name == "micropython"
with open("/golden.json") as f:
    GOLDEN = json.load(f)["control_link"]
GOLDEN_HASH = GOLDEN["protocol_hash"]


def ok(name):
    print("ok", name)


def check_crc():
    check = GOLDEN["crc16_check"]
    assert crc16.crc16_ccitt(bytes.fromhex(check["data"])) == check["crc"]
    assert crc16.crc32(b"123456789") == 0xCBF43926
    ok("crc16 and crc32 check values")


def check_golden_frames():
    for vector in GOLDEN["frames"]:
        raw = bytes.fromhex(vector["hex"])
        msg_type = GOLDEN["msg_types"][vector["msg_type"]]
        got = codec.decode_frame(raw)
        want = (msg_type, vector["seq"], vector["ack"], vector["boot_id"], vector["fields"])
        assert got == want, vector["name"] + ": " + repr(got)
        again = codec.encode_frame(msg_type, vector["fields"], vector["seq"], vector["ack"],
                                   vector["boot_id"])
        assert again == raw, vector["name"] + " re-encodes differently"
    ok("golden frames decode and re-encode: " + str(len(GOLDEN["frames"])))


def check_invalid_frames():
    for vector in GOLDEN["invalid"]:
        try:
            codec.decode_frame(bytes.fromhex(vector["hex"]))
        except codec.FrameError as exc:
            want = GOLDEN["error_codes"][vector["nak"]] if vector["nak"] else 0
            assert exc.nak == want, vector["name"] + ": nak " + str(exc.nak)
        else:
            raise AssertionError(vector["name"] + " decoded")
    ok("invalid frames get their NAK codes: " + str(len(GOLDEN["invalid"])))


def check_pid():
    loop = pid.Pid(0.1, 0.0, 0.2, 0.0, 1.0, 1.0)
    loop.update(40.0, 35.0, 0.1)
    assert abs(loop.update(40.0, 35.1, 0.1) - (0.49 - 0.2)) < 1e-6
    assert loop.update(40.0, 0.0, 0.1) == 1.0
    wind = pid.Pid(0.05, 0.1, 0.0, 0.0, 1.0, 2.0)
    for _ in range(500):
        wind.update(65.0, 25.0, 0.1)
    assert wind.integral == 0.0
    ok("pid: derivative on measurement, limits, anti-windup")


class FakeHal:
    def __init__(self, raw):
        self.raw = raw
        self.duty = {}
        self.rate = {}

    def heater_duty(self, zone, duty):
        self.duty[zone] = duty

    def read_thermistor_u16(self, zone):
        return self.raw

    def pump_rate(self, pump, rate):
        self.rate[pump] = rate

    def valve_select(self, valve, port):
        pass

    def valve_ready(self, valve):
        return True

    def trigger_start(self, *args):
        pass

    def trigger_stop(self, output):
        pass

    def trigger_pulses_done(self, output):
        return 0

    def status_led(self, on):
        pass

    def all_off(self):
        self.duty = {}


RAW_30C = 26000  # about 34 C on the pico thermistor divider


def check_heater_safety(cfg):
    for raw, flag in ((65535, codec.THERMISTOR_OPEN), (0, codec.THERMISTOR_SHORT),
                      (2000, codec.OVER_TEMPERATURE)):
        zone = heater.HeaterZone(cfg["heaters"][0])
        zone.set(True, 65000, 0)
        assert zone.step(RAW_30C, 0, 100) == 0 and zone.duty_permille > 0
        assert zone.step(raw, 100, 100) == flag
        assert zone.duty_permille == 0 and not zone.enabled
    zone = heater.HeaterZone(cfg["heaters"][0])
    zone.set(True, 65000, 0)
    now = 0
    while zone.step(RAW_30C, now, 100) == 0:  # full power, no rise
        now += 100
        assert now < 30000
    assert 20000 <= now <= 20100
    ok("heater safety: open, short, over-temperature, runaway")


def frame(msg_type, fields, seq):
    return codec.encode_frame(msg_type, fields, seq, 0)


def replies(ctl):
    out = [codec.decode_frame(f) for f in ctl.outbox]
    ctl.outbox.clear()
    return out


def check_dispatch(cfg):
    hal = FakeHal(RAW_30C)
    ctl = Controller(hal, cfg, 1234, 5, codec.RESET_POWER_ON, 0)
    assert replies(ctl)[0][0] == codec.BOOT
    ctl.handle_bytes(frame(codec.IDENTIFY, {}, 1), 0)
    ident = replies(ctl)[0]
    assert ident[0] == codec.IDENTIFY_REPLY and ident[2] == 1 and ident[3] == 5
    assert ident[4]["board_id"] == "pico" and ident[4]["boot_id"] == 5
    assert ident[4]["protocol_hash"] == GOLDEN_HASH
    cases = (
        (codec.HEATER_SET, {"zone": 0, "enable": 1, "setpoint_mc": 99000, "ramp_mc_per_s": 0},
         codec.OUT_OF_RANGE),
        (codec.HEATER_SET, {"zone": 7, "enable": 1, "setpoint_mc": 50000, "ramp_mc_per_s": 0},
         codec.UNKNOWN_TARGET),
        (codec.PUMP_MOVE, {"pump": 0, "volume_nl": 5000, "rate_nl_per_s": 1000},
         codec.OUT_OF_RANGE),
        (codec.VALVE_SELECT, {"valve": 0, "port": 24}, codec.OUT_OF_RANGE),
        (codec.TRIGGER_FIRE, {"output": 0}, codec.NOT_ARMED),
    )
    seq = 2
    for msg_type, fields, code in cases:
        ctl.handle_bytes(frame(msg_type, fields, seq), 10)
        reply = replies(ctl)[0]
        assert reply[0] == codec.NAK and reply[4] == {"msg_type": msg_type, "error": code}, reply
        seq += 1
    heat = frame(codec.HEATER_SET, {"zone": 0, "enable": 1, "setpoint_mc": 65000,
                                    "ramp_mc_per_s": 0}, seq)
    ctl.handle_bytes(heat, 20)
    first = ctl.outbox[:]
    replies(ctl)
    ctl.handle_bytes(heat, 30)  # retransmission: cached reply
    assert ctl.outbox == first
    replies(ctl)
    ctl.step(100)
    assert hal.duty[0] > 0
    hal.raw = 65535
    ctl.step(200)
    assert hal.duty[0] == 0 and ctl.faults == codec.THERMISTOR_OPEN
    events = [r for r in replies(ctl) if r[0] == codec.FAULT_EVENT]
    assert events[0][4]["fault"] == 0 and events[0][4]["source"] == 0
    ctl.handle_bytes(frame(codec.HEATER_SET, {"zone": 0, "enable": 1, "setpoint_mc": 65000,
                                              "ramp_mc_per_s": 0}, seq + 1), 210)
    assert replies(ctl)[0][4]["error"] == codec.FAULT_LATCHED
    bad_crc = bytearray(frame(codec.PING, {"token": 0}, 9))
    bad_crc[-1] ^= 0xFF
    ctl.handle_bytes(bad_crc, 220)
    assert replies(ctl)[0][4] == {"msg_type": codec.PING, "error": codec.BAD_CRC}
    stale = codec.encode_frame(codec.PUMP_STOP, {"pump": 0}, 10, 0, 4)  # the previous boot
    ctl.handle_bytes(stale, 230)
    assert replies(ctl)[0][4] == {"msg_type": codec.PUMP_STOP, "error": codec.STALE_BOOT}
    hal.raw = RAW_30C
    ctl.step(5000)  # host silent for > 3 s since t=230
    assert ctl.faults & codec.HEARTBEAT_LOST
    safe = Controller(FakeHal(0), None, 0, 1, codec.RESET_WATCHDOG, 0, "board.json: missing")
    boot = replies(safe)
    assert boot[0][4]["faults"] == codec.BOARD_CONFIG | codec.WATCHDOG_RESET
    assert safe.state() == codec.STATE_SAFE
    ok("dispatch: replies, NAK codes, duplicates, fault latch, heartbeat, safe state")


def check_frame_silence(cfg):
    cut = frame(codec.PUMP_STOP, {"pump": 0}, 1)[:5]
    b = codec.encode_frame(codec.PING, {"token": 7}, 2, 0, 1)
    c = codec.encode_frame(codec.PING, {"token": 8}, 3, 0, 1)
    reader = codec.FrameReader(cfg["frame_silence_ms"])
    assert reader.feed(cut, 1000) == []
    swallowed = codec.FrameReader(cfg["frame_silence_ms"])
    swallowed.feed(cut, 1000)
    assert [x for x in swallowed.feed(b + c, 1001) if isinstance(x, bytes)] == []
    assert [x for x in reader.feed(b + c, 1100) if isinstance(x, bytes)] == [b, c]
    ctl = Controller(FakeHal(RAW_30C), cfg, 1, 1, codec.RESET_POWER_ON, 0)
    replies(ctl)
    ctl.handle_bytes(cut, 0)
    ctl.handle_bytes(b, 100)
    ctl.handle_bytes(c, 100)
    assert [r[4]["token"] for r in replies(ctl) if r[0] == codec.PONG] == [7, 8]
    ok("frame reader drops a cut frame after a silence")


def check_board_file(raw):
    cfg, crc = boardcfg.parse(raw)
    assert crc == crc16.crc32(raw)
    try:
        boardcfg.parse(raw.replace(b'"beta": 3950', b'"beta": "x"'))
    except boardcfg.BoardConfigError as exc:
        assert str(exc).startswith("heaters[0].thermistor.beta:"), str(exc)
    else:
        raise AssertionError("bad beta accepted")
    ok("board file parses; bad field named")
    return cfg


with open("/board.json", "rb") as f:
    BOARD = check_board_file(f.read())
check_crc()
check_golden_frames()
check_invalid_frames()
check_pid()
check_heater_safety(BOARD)
check_dispatch(BOARD)
check_frame_silence(BOARD)
print("ALL OK")
