"""The RP2040 exposure pulse train, cycle by cycle: the real PIO program from hal_rp2 is
assembled by a stand-in ``rp2`` module and run by a small PIO interpreter (1 cycle = 1 us),
with the words ``PioPulseTrain.start`` pushes. Exposure, period, count and the per-pulse IRQ
must match the program exactly."""

import importlib
import sys
import types
from collections.abc import Iterator

import pytest
from opensbs.board.firmware import FIRMWARE_DIR


class _Op:
    def __init__(self, name: str, *args: object) -> None:
        self.name, self.args = name, args


def _assembler(program_fn) -> list[_Op]:
    """Record the program's instructions (labels resolved to indices)."""
    ops: list[_Op] = []
    labels: dict[str, int] = {}
    names = {n: n for n in ("x", "y", "osr", "isr", "pins", "block", "x_dec", "y_dec")}
    env = {
        **names,
        "pull": lambda mode: ops.append(_Op("pull")),
        "mov": lambda dst, src: ops.append(_Op("mov", dst, src)),
        "set": lambda dst, value: ops.append(_Op("set", value)),
        "jmp": lambda cond, label: ops.append(_Op("jmp", cond, label)),
        "irq": lambda index: ops.append(_Op("irq")),
        "rel": lambda index: index,
        "label": lambda name: labels.__setitem__(name, len(ops)),
    }
    program_fn.__globals__.update(env)
    program_fn()
    for op in ops:
        if op.name == "jmp":
            op.args = (op.args[0], labels[op.args[1]])  # type: ignore[index]
    return ops


def _run(ops: list[_Op], fifo: list[int], max_cycles: int) -> Iterator[tuple[int, str]]:
    """Yield (cycle, event) for pin rises/falls and IRQs until the program stalls on pull."""
    reg = {"x": 0, "y": 0, "osr": 0, "isr": 0}
    pc = 0
    for cycle in range(max_cycles):
        op = ops[pc]
        pc = (pc + 1) % len(ops)
        if op.name == "pull":
            if not fifo:
                return
            reg["osr"] = fifo.pop(0)
        elif op.name == "mov":
            reg[op.args[0]] = reg[op.args[1]]  # type: ignore[index]
        elif op.name == "set":
            yield cycle, "rise" if op.args[0] else "fall"
        elif op.name == "irq":
            yield cycle, "irq"
        elif op.name == "jmp":
            cond, target = op.args
            counter = "x" if cond == "x_dec" else "y"
            if reg[counter]:
                pc = target  # type: ignore[assignment]
            reg[counter] = (reg[counter] - 1) & 0xFFFFFFFF


@pytest.fixture
def hal_rp2(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    rp2 = types.ModuleType("rp2")
    rp2.PIO = types.SimpleNamespace(OUT_LOW=0)  # type: ignore[attr-defined]
    programs: list[list[_Op]] = []

    def asm_pio(**_kwargs: object):
        def assemble(fn):
            programs.append(_assembler(fn))
            return programs[-1]
        return assemble

    class StateMachine:
        def __init__(self, index: int, program: list[_Op], **_kwargs: object) -> None:
            self.program, self.fifo = program, []

        def irq(self, handler, hard: bool = False) -> None:
            self.handler = handler

        def put(self, word: int) -> None:
            self.fifo.append(word)

        def restart(self) -> None:
            self.fifo = []

        def active(self, _on: int) -> None:
            pass

    rp2.asm_pio, rp2.StateMachine = asm_pio, StateMachine  # type: ignore[attr-defined]
    machine = types.ModuleType("machine")

    class Pin:
        OUT = 1

        def __init__(self, *_args: object, **_kwargs: object) -> None:
            pass

        def value(self, _v: int) -> None:
            pass

    machine.Pin = Pin  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rp2", rp2)
    monkeypatch.setitem(sys.modules, "machine", machine)
    monkeypatch.syspath_prepend(str(FIRMWARE_DIR))
    monkeypatch.delitem(sys.modules, "opensbs_fw.hal_rp2", raising=False)
    return importlib.import_module("opensbs_fw.hal_rp2")


@pytest.mark.parametrize("exposure_us, period_us, count", [(20_000, 50_000, 4), (10, 110, 7),
                                                           (250_000, 1_000_000, 1)])
def test_pio_pulse_train_is_exact(hal_rp2: types.ModuleType, exposure_us: int, period_us: int,
                                  count: int) -> None:
    train = hal_rp2.PioPulseTrain(0, {"pin": "GP15"})
    train.start(exposure_us, period_us, count)
    events = list(_run(train.sm.program, list(train.sm.fifo), count * period_us + 100))
    rises = [c for c, e in events if e == "rise"]
    falls = [c for c, e in events if e == "fall"]
    irqs = [c for c, e in events if e == "irq"]
    assert len(rises) == len(falls) == len(irqs) == count
    assert [f - r for r, f in zip(rises, falls, strict=True)] == [exposure_us] * count
    assert [b - a for a, b in zip(rises, rises[1:], strict=False)] == [period_us] * (count - 1)
    for _ in irqs:
        train.sm.handler(train.sm)
    assert train.pulses_done() == count and not train.running()
