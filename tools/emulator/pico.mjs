// An emulated Raspberry Pi Pico (rp2040js) running the vendored MicroPython image, driven
// step by step from a host process over stdin/stdout.
//
// Protocol: every message both ways is a 4-byte little-endian length then UTF-8 JSON. The
// host sends one command and reads one reply; the chip only runs inside "run".
//
//   {"op": "watch", "pins": {"2": "duty", "10": "count", "15": "edges"}}
//       duty: high time per run (ns) and the last falling edge; count: rising edges per
//       run; edges: every edge with its emulated time. Kept across watchdog resets.
//   {"op": "run", "until_ns": T, "cdc_in": "<hex>", "adc": {"0": code12}, "inputs": {"21": 1}}
//       -> {"now_ns", "cdc_out": "<hex>", "cdc_in_queued", "edges": [[pin, level, t_ns]],
//           "high_ns": {pin: ns}, "last_fall_ns": {pin: t_ns}, "rising": {pin: n},
//           "levels": {pin: 0|1}, "resets": [[t_ns, "watchdog"|"force"]],
//           "busy_ns": emulated time the CPU ran, not asleep in WFI/WFE}
//   {"op": "save_flash", "path": P}   the 2 MiB flash (program + littlefs) to a file
//   {"op": "quit"}
//
// The boot ROM's flash_range_erase and flash_range_program are patched to BKPT and done
// here, so littlefs works. A watchdog reset rebuilds the chip with the current flash (the
// watchdog's reason and scratch registers survive it, as on the chip). Emulated time is
// one monotonic clock across resets.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GPIOPinState, RP2040, USBCDC } from 'rp2040js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIRMWARE_DIR = path.join(HERE, 'firmware');
const IMAGE = 'micropython-v1.28.0-RPI_PICO.uf2';
const BOOTROM = 'rp2040-bootrom-b1.bin';
const FLASH_BYTES = 2 * 1024 * 1024; // the Pico's W25Q16
const FLASH_BASE = 0x10000000;
const ERASE_BKPT = 0x51;
const PROGRAM_BKPT = 0x52;
const BATCH_INSTRUCTIONS = 20000;
const CDC_IN_MAX_BYTES = 1 << 20;

function fail(message) {
  process.stderr.write(`pico.mjs: ${message}\n`);
  process.exit(2);
}

function verifiedFile(name) {
  const sums = fs.readFileSync(path.join(FIRMWARE_DIR, 'SHA256SUMS'), 'utf8');
  const line = sums.split('\n').find((l) => l.trim().endsWith(` ${name}`));
  if (!line) fail(`no checksum for ${name} in firmware/SHA256SUMS`);
  const data = fs.readFileSync(path.join(FIRMWARE_DIR, name));
  const digest = createHash('sha256').update(data).digest('hex');
  if (digest !== line.split(/\s+/)[0]) fail(`${name}: sha256 ${digest} does not match SHA256SUMS`);
  return data;
}

function romFunction(rom, code) {
  const table = rom.readUInt16LE(0x14);
  const want = code.charCodeAt(0) | (code.charCodeAt(1) << 8);
  for (let at = table; ; at += 4) {
    const entry = rom.readUInt16LE(at);
    if (entry === 0) fail(`boot ROM has no function ${code}`);
    if (entry === want) return rom.readUInt16LE(at + 2) & ~1;
  }
}

function patchedBootrom(rom) {
  const patched = Buffer.from(rom);
  patched.writeUInt16LE(0xbe00 | ERASE_BKPT, romFunction(rom, 'RE'));
  patched.writeUInt16LE(0xbe00 | PROGRAM_BKPT, romFunction(rom, 'RP'));
  return new Uint32Array(patched.buffer, patched.byteOffset, patched.length / 4);
}

function flashFromUf2(uf2) {
  const flash = new Uint8Array(FLASH_BYTES).fill(0xff);
  for (let at = 0; at + 512 <= uf2.length; at += 512) {
    if (uf2.readUInt32LE(at) !== 0x0a324655 || uf2.readUInt32LE(at + 4) !== 0x9e5d5157) {
      fail(`UF2 block at ${at} has a bad magic number`);
    }
    const target = uf2.readUInt32LE(at + 12) - FLASH_BASE;
    const size = uf2.readUInt32LE(at + 16);
    if (target < 0 || target + size > FLASH_BYTES) fail(`UF2 block outside flash: ${target}`);
    flash.set(uf2.subarray(at + 32, at + 32 + size), target);
  }
  return flash;
}

// ---- the chip ------------------------------------------------------------------------------
const bootrom = patchedBootrom(verifiedFile(BOOTROM));
const uf2 = verifiedFile(IMAGE);
const flashArg = process.argv.indexOf('--flash');
let flash;
if (flashArg > 0 && fs.existsSync(process.argv[flashArg + 1])) {
  flash = new Uint8Array(fs.readFileSync(process.argv[flashArg + 1]));
  if (flash.length !== FLASH_BYTES) fail(`flash image must be ${FLASH_BYTES} bytes`);
} else {
  flash = flashFromUf2(uf2);
}

const watches = new Map(); // pin -> "duty" | "count" | "edges"
let baseNs = 0; // emulated time of the current chip's clock zero
let mcu = null;
let cdc = null;
let cdcReadSize = 0; // the device's armed OUT transfer (the host NAKs until data is queued)
let cdcIn = [];
let cdcOut = [];
let resetReason = null;
const adcCodes = new Map(); // ADC channel -> 12-bit code (the board's analogue inputs)
const inputLevels = new Map(); // GPIO -> level driven from outside
const report = { busyNs: 0, lastFall: new Map(), edges: [], highNs: new Map(), rising: new Map(), highSince: new Map(), resets: [] };

function nowNs() {
  return baseNs + mcu.clock.nanos;
}

function flashOp(code) {
  const { core } = mcu;
  const [addr, arg1, arg2] = [core.registers[0], core.registers[1], core.registers[2]];
  if (code === ERASE_BKPT) {
    const end = Math.min(addr + arg1, FLASH_BYTES);
    mcu.flash.fill(0xff, addr, end);
  } else if (code === PROGRAM_BKPT) {
    for (let i = 0; i < arg2 && addr + i < FLASH_BYTES; i++) {
      mcu.flash[addr + i] &= mcu.readUint8(arg1 + i); // NOR programming only clears bits
    }
  } else {
    fail(`breakpoint ${code} at 0x${(core.PC - 2).toString(16)}`);
  }
  core.PC = core.LR & ~1; // return from the ROM function
}

function pinLevel(pin) {
  return mcu.gpio[pin].value === GPIOPinState.High ? 1 : 0;
}

function onPin(pin, level) {
  const t = nowNs();
  const mode = watches.get(pin);
  if (mode === 'edges') report.edges.push([pin, level, t]);
  else if (mode === 'count' && level) report.rising.set(pin, (report.rising.get(pin) || 0) + 1);
  else if (mode === 'duty') {
    const since = report.highSince.get(pin);
    if (!level && since !== undefined) {
      report.highNs.set(pin, (report.highNs.get(pin) || 0) + t - since);
      report.highSince.delete(pin);
      report.lastFall.set(pin, t);
    } else if (level && since === undefined) report.highSince.set(pin, t);
  }
}

function watchPin(pin) {
  let last = pinLevel(pin);
  if (last) onPin(pin, 1);
  mcu.gpio[pin].addListener((state) => {
    const level = state === GPIOPinState.High ? 1 : 0;
    if (level !== last) {
      last = level;
      onPin(pin, level);
    }
  });
}

function build(watchdogState) {
  const previous = mcu;
  if (previous) {
    baseNs = nowNs();
    for (const pin of watches.keys()) if (pinLevel(pin)) onPin(pin, 0); // the reset releases every pin
  }
  mcu = new RP2040();
  mcu.loadBootrom(bootrom);
  mcu.flash.set(previous ? previous.flash.subarray(0, FLASH_BYTES) : flash);
  mcu.onBreak = flashOp;
  mcu.logger = { debug() {}, info() {}, warn() {}, error() {} };
  const wdt = mcu.peripherals[0x40058];
  if (watchdogState) {
    wdt.reason = watchdogState.reason;
    wdt.scratchData.set(watchdogState.scratch);
  }
  wdt.onWatchdogTrigger = () => {
    resetReason = wdt.reason;
    wdt.alarm.enable = false; // the package's periodic alarm would refire at once, forever
    wdt.timer.enable = false;
  };
  mcu.pio.forEach(timePio);
  cdc = new USBCDC(mcu.usbCtrl);
  cdc.onSerialData = (data) => cdcOut.push(Buffer.from(data));
  cdcReadSize = 0;
  mcu.usbCtrl.onEndpointRead = (endpoint, size) => {
    if (endpoint === cdc.outEndpoint) cdcReadSize = size;
  };
  for (const pin of watches.keys()) watchPin(pin);
  for (const [ch, code] of adcCodes) mcu.adc.channelValues[ch] = code;
  for (const [pin, level] of inputLevels) mcu.gpio[pin].setInputValue(level);
  mcu.core.PC = FLASH_BASE; // boot stage 2, then the image's vector table
}

function feedCdc() {
  if (!cdcReadSize || !cdcIn.length) return;
  const chunk = Buffer.from(cdcIn.splice(0, cdcReadSize));
  cdcReadSize = 0;
  mcu.usbCtrl.endpointReadDone(cdc.outEndpoint, chunk);
}

// rp2040js steps PIO from setTimeout, 1000 instructions at a time, blind to the clock
// divider and to delays. Here each state machine steps on an alarm of the emulated clock,
// once per (divided) PIO clock, plus its instruction's delay cycles; one stalled on an
// empty TX FIFO sleeps until the CPU writes that FIFO.
const PIO_CTRL = 0x000;
const PIO_TXF0 = 0x010;
const PIO_TXF3 = 0x01c;
const WAIT_TX_FIFO = 3;
const WAIT_OUT = 5;

function timePio(pio) {
  const scheduled = [false, false, false, false];
  const alarms = pio.machines.map((sm, i) => mcu.clock.createAlarm(() => tick(i)));
  const schedule = (i, pioCycles) => {
    const sm = pio.machines[i];
    scheduled[i] = sm.enabled && !pio.stopped;
    if (scheduled[i]) {
      const divider = sm.clockDivInt + sm.clockDivFrac / 256;
      alarms[i].schedule((pioCycles * divider * 1e9) / mcu.clkSys);
    }
  };
  const tick = (i) => {
    const sm = pio.machines[i];
    scheduled[i] = false;
    if (!sm.enabled || pio.stopped) return;
    const before = sm.cycles;
    sm.step();
    pio.checkChangedPins();
    if (sm.waiting && (sm.waitType === WAIT_TX_FIFO || sm.waitType === WAIT_OUT)) return;
    schedule(i, Math.max(1, sm.cycles - before));
  };
  pio.run = () => {
    for (let i = 0; i < 4; i++) if (!scheduled[i]) schedule(i, 1);
  };
  const write = pio.writeUint32.bind(pio);
  pio.writeUint32 = (offset, value) => {
    write(offset, value);
    if (offset === PIO_CTRL || (offset >= PIO_TXF0 && offset <= PIO_TXF3)) pio.run();
  };
}

function watchdogReset() {
  const wdt = mcu.peripherals[0x40058];
  report.resets.push([nowNs(), resetReason === 2 ? 'force' : 'watchdog']);
  resetReason = null;
  build({ reason: wdt.reason, scratch: Uint32Array.from(wdt.scratchData) });
}

function run(untilNs) {
  while (nowNs() < untilNs) {
    if (resetReason !== null) watchdogReset();
    feedCdc();
    const { core, clock } = mcu;
    const limit = untilNs - baseNs;
    const cycleNs = 1e9 / mcu.clkSys;
    for (let i = 0; i < BATCH_INSTRUCTIONS && clock.nanos < limit && resetReason === null; i++) {
      if (core.waiting) {
        const remaining = limit - clock.nanos;
        clock.tick(clock.nextAlarm ? Math.min(clock.nanosToNextAlarm, remaining) : remaining);
        if (cdcReadSize && cdcIn.length) break;
      } else {
        const ns = core.executeInstruction() * cycleNs;
        report.busyNs += ns;
        clock.tick(ns);
      }
    }
  }
}

function takeReport() {
  const t = nowNs();
  const highNs = {};
  for (const [pin, mode] of watches) {
    if (mode !== 'duty') continue;
    let high = report.highNs.get(pin) || 0;
    const since = report.highSince.get(pin);
    if (since !== undefined) {
      high += t - since;
      report.highSince.set(pin, t);
    }
    highNs[pin] = high;
  }
  const levels = {};
  for (const pin of watches.keys()) levels[pin] = pinLevel(pin);
  const out = {
    now_ns: t,
    cdc_out: Buffer.concat(cdcOut).toString('hex'),
    cdc_in_queued: cdcIn.length,
    edges: report.edges,
    high_ns: highNs,
    last_fall_ns: Object.fromEntries(report.lastFall),
    rising: Object.fromEntries(report.rising),
    levels,
    resets: report.resets,
    busy_ns: report.busyNs,
  };
  report.busyNs = 0;
  cdcOut = [];
  report.edges = [];
  report.highNs.clear();
  report.lastFall.clear();
  report.rising.clear();
  report.resets = [];
  return out;
}

// ---- the host link -------------------------------------------------------------------------
function readExactly(n) {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    let r;
    try {
      r = fs.readSync(0, buf, got, n - got, null);
    } catch (err) {
      if (err.code === 'EAGAIN') continue;
      if (err.code === 'EOF') return null;
      throw err;
    }
    if (r === 0) return null;
    got += r;
  }
  return buf;
}

function send(obj) {
  const body = Buffer.from(JSON.stringify(obj));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length);
  fs.writeSync(1, Buffer.concat([head, body]));
}

function handle(msg) {
  switch (msg.op) {
    case 'watch':
      for (const [pin, mode] of Object.entries(msg.pins)) {
        if (!['duty', 'count', 'edges'].includes(mode)) return { error: `watch mode ${mode}` };
        const index = Number(pin);
        if (!watches.has(index)) {
          watches.set(index, mode);
          watchPin(index);
        }
      }
      return takeReport();
    case 'run': {
      if (msg.cdc_in) {
        const bytes = Buffer.from(msg.cdc_in, 'hex');
        if (cdcIn.length + bytes.length > CDC_IN_MAX_BYTES) return { error: 'CDC input queue full' };
        for (const b of bytes) cdcIn.push(b);
      }
      for (const [ch, code] of Object.entries(msg.adc || {})) {
        adcCodes.set(Number(ch), code);
        mcu.adc.channelValues[Number(ch)] = code;
      }
      for (const [pin, level] of Object.entries(msg.inputs || {})) {
        inputLevels.set(Number(pin), !!level);
        mcu.gpio[Number(pin)].setInputValue(!!level);
      }
      run(msg.until_ns);
      return takeReport();
    }
    case 'save_flash':
      fs.writeFileSync(msg.path, mcu.flash.subarray(0, FLASH_BYTES));
      return { saved: msg.path };
    default:
      return { error: `unknown op ${msg.op}` };
  }
}

build(null);
for (;;) {
  const head = readExactly(4);
  if (!head) break;
  const body = readExactly(head.readUInt32LE(0));
  if (!body) break;
  const msg = JSON.parse(body.toString('utf8'));
  if (msg.op === 'quit') break;
  send(handle(msg));
}
