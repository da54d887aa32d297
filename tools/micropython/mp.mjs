// Real MicroPython (the WebAssembly port) under Node, for the firmware tests.
//
//   node mp.mjs run  [--mount HOSTDIR=MPDIR]... SCRIPT.py   run a script; exit 1 on an exception
//   node mp.mjs repl                                        the event-driven REPL (raw REPL
//                                                            included) on stdin/stdout, bytes
//                                                            unbuffered, for mpremote over a
//                                                            pty; files live in ramfs.py
// In repl mode a soft reset (Ctrl-D) forgets imported modules and restarts the REPL, as a
// board does; the files stay.
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
  mp.runPython(fs.readFileSync(new URL("./ramfs.py", import.meta.url), "utf8"));
  mp.replInit();
  // Raw-paste (Ctrl-E 'A' Ctrl-A) is answered "R\x00", not supported: the event-driven
  // raw-paste of this port ends the paste at once, so mpremote falls back to the raw REPL.
  const RAW_PASTE = [0x05, 0x41, 0x01];
  let held = [];
  let queue = Promise.resolve();
  const feed = (byte) => {
    queue = queue.then(async () => {
      if (await mp.replProcessCharWithAsyncify(byte)) {
        process.stdout.write("MPY: soft reboot\r\n");
        mp.runPython("import sys\nfor _m in list(sys.modules):\n del sys.modules[_m]\n");
        mp.replInit();
      }
    });
  };
  process.stdin.on("data", (data) => {
    for (const byte of data) {
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
