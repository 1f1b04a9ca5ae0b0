"""Disk writes for the media plane: atomic, and loud when the disk refuses.

A playlist or segment is either complete on disk or absent, never half written, so a crash or
a full disk can cost at most the segment in progress.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path


class MediaStorageError(Exception):
    """The media directory cannot be written (full, read-only, missing, no permission)."""

    def __init__(self, path: Path, cause: OSError) -> None:
        reason = errno.errorcode.get(cause.errno or 0, "EIO")
        super().__init__(f"cannot write media to {path}: {reason} ({cause.strerror or cause})")
        self.path = path
        self.errno = cause.errno
        self.__cause__ = cause


@dataclass
class StorageHealth:
    """Health flag shared by the writers of one sitting; /healthz reads `ok` and `error`."""

    ok: bool = True
    error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail(self, exc: MediaStorageError) -> None:
        with self._lock:
            self.ok = False
            self.error = str(exc)


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write via a temp file and rename, so readers see the old or the new file, never a mix."""
    raw = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise MediaStorageError(path, exc) from exc


def ensure_dir(path: Path) -> Path:
    """Create a media directory and prove it is writable before anything depends on it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MediaStorageError(path, exc) from exc
    atomic_write(path / ".probe", b"ok")
    try:
        (path / ".probe").unlink()
    except OSError as exc:
        raise MediaStorageError(path, exc) from exc
    return path
