"""Board files: the shipped ones pass; a broken one is rejected with the field named."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from opensbs.board.schema import BoardFileError, board_names, check_board_bytes, load_board

PICO = load_board("pico")


def test_shipped_boards_load_with_their_architecture() -> None:
    assert {"pico", "nucleo_f411re"} <= set(board_names())
    assert PICO.config["mpy_arch"] == "armv6m"
    nucleo = load_board("nucleo_f411re").config
    assert nucleo["mpy_arch"] == "armv7emsp" and nucleo["triggers"][0]["timer"]["id"] == 2
    assert PICO.config["usb"] == {"vid": 0x1209, "pid": 0x05B0, "transport": "vendor_bulk"}


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(cfg: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = cfg
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is KeyError:
            del node[last]
        else:
            node[last] = value
    return apply


@pytest.mark.parametrize("mutate, field", [
    (_set("board_id", KeyError), "board_id: missing"),
    (_set("usb.pid", 0x10000), "usb.pid:"),
    (_set("usb.transport", "bluetooth"), "usb.transport:"),
    (_set("mpy_arch", "armv7emsp"), "mpy_arch: must be armv6m"),
    (_set("heaters.0.thermistor.beta", "3950"), "heaters[0].thermistor.beta:"),
    (_set("heaters.1.pid.kp", -1), "heaters[1].pid.kp:"),
    (_set("heaters.0.over_temperature_mc", 98000), "heaters[0].over_temperature_mc: must be"),
    (_set("heaters.0.thermistor.open_above_u16", 100), "heaters[0].thermistor.open_above_u16:"),
    (_set("pumps.0.steps_per_ul", 0), "pumps[0].steps_per_ul:"),
    (_set("valves.0.select_pins", ["GP16", "GP17"]), "valves[0].select_pins: too few pins"),
    (_set("triggers.0.laser_pins", [1, 2]), "triggers[0].laser_pins[0]:"),
    (_set("watchdog_timeout_ms", 9000), "watchdog_timeout_ms:"),
    (_set("heaters", [{}] * 9), "heaters: must be a list of at most 8"),
    (_set("control_period_ms", True), "control_period_ms:"),
    (_set("heaters.0.pid.kI", 0.1), "heaters[0].pid.kI: unknown field"),
    (_set("triggers.0.timer", {"id": 2, "channel": 1}), "triggers[0].timer: unknown field"),
    (_set("usb.serial", "x"), "usb.serial: unknown field"),
])
def test_broken_field_is_named(mutate: Callable[[dict[str, Any]], None], field: str) -> None:
    cfg = json.loads(PICO.raw)
    mutate(cfg)
    with pytest.raises(BoardFileError) as info:
        check_board_bytes(json.dumps(cfg).encode(), "pico.json")
    assert str(info.value).startswith(f"pico.json: {field}"), str(info.value)


def test_stm32_trigger_needs_its_timer() -> None:
    cfg = json.loads(load_board("nucleo_f411re").raw)
    del cfg["triggers"][0]["timer"]
    with pytest.raises(BoardFileError, match=r"triggers\[0\]\.timer: missing"):
        check_board_bytes(json.dumps(cfg).encode())


def test_not_json_and_missing_file(tmp_path) -> None:
    bad = tmp_path / "b.json"
    bad.write_text("{")
    with pytest.raises(BoardFileError, match="not valid JSON"):
        load_board(bad)
    with pytest.raises(BoardFileError, match="known boards: .*pico"):
        load_board("no_such_board")
