// Real MicroPython (the WebAssembly port) under Node, for the firmware tests.
//
//   node mp.mjs run  [--mount HOSTDIR=MPDIR]... SCRIPT.py   run a script; exit 1 on an exception
//   node mp.mjs repl                                        the event-driven REPL (raw REPL
//                                                            included) on stdin/stdout, bytes
//                                                            unbuffered, for mpremote over a
//                                                            pty; files live in ramfs.py
// In repl mode a soft reset (Ctrl-D) forgets imported modules and restarts the REPL, as a
// board does; the files stay. machine.reset() (board_lib/machine.py) reboots into /main.py
// with the serial port (board_lib/virtual_serial.py) bridged to stdin/stdout, until the
// "\r\x03" with which mpremote takes the REPL back.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "node:fs";
import path from "node:path";

function copyTree(mp, hostDir, mpDir) {
  mp.FS.mkdirTree(mpDir);
  for (const entry of fs.readdirSync(hostDir, { withFileTypes: true })) {
    const src = path.join(hostDir, entry.name);
    const dst = path.posix.join(mpDir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "__pycache__") copyTree(mp, src, dst);
    } else {
      mp.FS.writeFile(dst, fs.readFileSync(src));
    }
  }
}

function parseArgs(argv) {
  const mounts = [];
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--mount") {
      const [host, target] = argv[++i].split("=");
      mounts.push([host, target]);
    } else {
      rest.push(argv[i]);
    }
  }
  return { mounts, rest };
}

const [mode, ...args] = process.argv.slice(2);
const { mounts, rest } = parseArgs(args);

if (mode === "run") {
  const mp = await loadMicroPython({
    heapsize: 8 * 1024 * 1024,
    stdout: (line) => process.stdout.write(line + "\n"),
    stderr: (line) => process.stderr.write(line + "\n"),
  });
  for (const [host, target] of mounts) {
    if (fs.statSync(host).isDirectory()) copyTree(mp, host, target);
    else mp.FS.writeFile(target, fs.readFileSync(host));
  }
  try {
    await mp.runPythonAsync(fs.readFileSync(rest[0], "utf8"));
  } catch (error) {
    process.stderr.write(String(error.message || error) + "\n");
    process.exit(1);
  }
} else if (mode === "repl") {
  const mp = await loadMicroPython({
    heapsize: 8 * 1024 * 1024,
    linebuffer: false,
    stdout: (bytes) => process.stdout.write(bytes),
  });
  // The board: "repl" (bytes go to the REPL) or "app" (main.py runs; bytes go to its serial).
  let board = "repl";
  let appInput = [];
  let stopApp = false;
  let resetRequested = false;
  mp.registerJsModule("js_board", {
    read: () => {
      if (stopApp) return null;
      const data = Buffer.from(appInput).toString("hex");
      appInput = [];
      return data;
    },
    write: (hex) => {
      if (board === "app") process.stdout.write(Buffer.from(hex, "hex"));
    },
    reset: () => {
      resetRequested = true;
    },
  });
  mp.runPython(fs.readFileSync(new URL("./ramfs.py", import.meta.url), "utf8"));
  mp.runPython("import os\ntry:\n os.mkdir('/lib')\nexcept OSError:\n pass\n");
  for (const name of fs.readdirSync(new URL("./board_lib/", import.meta.url))) {
    mp.globals.set("_source", fs.readFileSync(new URL("./board_lib/" + name, import.meta.url), "utf8"));
    mp.runPython(`open("/lib/${name}", "w").write(_source)\ndel _source`);
  }
  const forgetModules = () => mp.runPython(
    "import sys\nfor _m in list(sys.modules):\n if _m != 'js_board':\n  del sys.modules[_m]\n");
  const hardReset = () => {
    forgetModules();
    let hasMain = true;
    try {
      mp.runPython("import os\nos.stat('/main.py')");
    } catch (error) {
      hasMain = false;
    }
    if (!hasMain) {
      mp.replInit();
      return;
    }
    board = "app";
    stopApp = false;
    appInput = [];
    try {
      mp.runPython("import asyncio\nasyncio.run = asyncio.create_task\n" +
        "exec(open('/main.py').read(), {'__name__': '__main__'})");
    } catch (error) {
      process.stderr.write(String(error.message || error) + "\n");
      board = "repl";
      mp.replInit();
    }
  };
  mp.replInit();
  // Raw-paste (Ctrl-E 'A' Ctrl-A) is answered "R\x00", not supported: the event-driven
  // raw-paste of this port ends the paste at once, so mpremote falls back to the raw REPL.
  const RAW_PASTE = [0x05, 0x41, 0x01];
  let held = [];
  let lastByte = 0;
  let queue = Promise.resolve();
  const feed = (byte) => {
    queue = queue.then(async () => {
      if (board !== "repl") return;
      if (await mp.replProcessCharWithAsyncify(byte)) {
        process.stdout.write("MPY: soft reboot\r\n");
        forgetModules();
        mp.replInit();
      }
      if (resetRequested) {
        resetRequested = false;
        hardReset();
      }
    });
  };
  process.stdin.on("data", (data) => {
    for (const byte of data) {
      const previous = lastByte;
      lastByte = byte;
      if (board === "app") {
        if (previous === 0x0d && byte === 0x03) {  // mpremote wants the REPL: stop main.py
          stopApp = true;
          board = "repl";
          queue = queue.then(() => mp.replInit());
        } else {
          appInput.push(byte);
        }
        continue;
      }
      if (byte === RAW_PASTE[held.length]) {
        held.push(byte);
        if (held.length === RAW_PASTE.length) {
          held = [];
          queue = queue.then(() => process.stdout.write("R\x00"));
        }
        continue;
      }
      for (const b of held) feed(b);
      held = [];
      feed(byte);
    }
  });
  process.stdin.on("end", () => queue.then(() => process.exit(0)));
} else {
  process.stderr.write("usage: node mp.mjs run|repl [--mount HOST=MP]... [SCRIPT]\n");
  process.exit(2);
}
