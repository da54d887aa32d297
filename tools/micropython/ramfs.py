# The virtual board's flash: a RAM filesystem mounted at "/" in place of the WebAssembly
# port's POSIX VFS, raising MicroPython's own errno values (ENOENT = 2, as littlefs on a
# board does; Emscripten's are different and mpremote relies on them).
import io
import vfs

ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY = 2, 17, 20, 21, 39
S_IFDIR, S_IFREG = 0x4000, 0x8000


class _Writer:
    def __init__(self, fs, path, data, text):
        self._fs, self._path, self._buf, self._text = fs, path, bytearray(data), text
        fs.files[path] = bytes(self._buf)

    def write(self, data):
        self._buf += data.encode() if self._text else data
        self._fs.files[self._path] = bytes(self._buf)
        return len(data)

    def flush(self):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *args):
        pass


class RamFS:
    def __init__(self):
        self.files = {}
        self.dirs = {""}
        self.cwd = ""

    def _abs(self, path):
        if not path.startswith("/"):
            path = self.cwd + "/" + path
        parts = []
        for part in path.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part and part != ".":
                parts.append(part)
        return "/".join(parts)

    def _parent(self, path):
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        if parent not in self.dirs:
            raise OSError(ENOENT)

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def open(self, path, mode):
        path = self._abs(path)
        if path in self.dirs:
            raise OSError(EISDIR)
        text = "b" not in mode
        if "r" in mode and "+" not in mode:
            if path not in self.files:
                raise OSError(ENOENT)
            data = self.files[path]
            return io.StringIO(data.decode()) if text else io.BytesIO(data)
        self._parent(path)
        start = self.files.get(path, b"") if "a" in mode else b""
        return _Writer(self, path, start, text)

    def stat(self, path):
        path = self._abs(path)
        if path in self.dirs:
            return (S_IFDIR, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        if path in self.files:
            return (S_IFREG, 0, 0, 0, 0, 0, len(self.files[path]), 0, 0, 0)
        raise OSError(ENOENT)

    def ilistdir(self, path):
        path = self._abs(path)
        if path not in self.dirs:
            raise OSError(ENOENT if path not in self.files else ENOTDIR)
        prefix = path + "/" if path else ""
        out = []
        for d in self.dirs:
            if d and d.startswith(prefix) and "/" not in d[len(prefix):]:
                out.append((d[len(prefix):], S_IFDIR, 0, 0))
        for f, data in self.files.items():
            if f.startswith(prefix) and "/" not in f[len(prefix):]:
                out.append((f[len(prefix):], S_IFREG, 0, len(data)))
        return iter(out)

    def mkdir(self, path):
        path = self._abs(path)
        if path in self.dirs or path in self.files:
            raise OSError(EEXIST)
        self._parent(path)
        self.dirs.add(path)

    def rmdir(self, path):
        path = self._abs(path)
        if path not in self.dirs:
            raise OSError(ENOENT)
        if any(p.startswith(path + "/") for p in list(self.files) + list(self.dirs)):
            raise OSError(ENOTEMPTY)
        self.dirs.discard(path)

    def remove(self, path):
        path = self._abs(path)
        if path not in self.files:
            raise OSError(ENOENT)
        del self.files[path]

    def rename(self, old, new):
        old, new = self._abs(old), self._abs(new)
        if old not in self.files:
            raise OSError(ENOENT)
        self.files[new] = self.files.pop(old)

    def chdir(self, path):
        path = self._abs(path)
        if path not in self.dirs:
            raise OSError(ENOENT)
        self.cwd = path

    def getcwd(self):
        return "/" + self.cwd if self.cwd else ""

    def statvfs(self, path):
        return (4096, 4096, 512, 256, 256, 0, 0, 0, 0, 255)


vfs.umount("/")
vfs.mount(RamFS(), "/")
del RamFS
