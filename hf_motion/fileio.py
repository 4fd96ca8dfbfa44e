"""Atomic file and folder writes: a reader never sees a half-written file or cache.

Folders (:func:`atomic_directory`) are built under a hidden staging name beside the target and
renamed into place. Replacing an existing folder takes two renames (old copy aside, new copy in);
a process killed between them leaves the target missing. Every staging name embeds a host key
and the pid of its owner (``.tmp-<name>-<host>-<pid>-<random>`` for the copy being built,
``.old-<name>-<host>-<pid>-<random>`` for the copy being replaced), so the next call for the same
target (or :func:`recover_directory`) can tell a dead owner's leftovers from a live process's
work: it *restores the previous copy* (the swap is rolled back: the new copy was never committed)
and deletes the dead owner's staging folders. Folders of live processes are never touched;
staging folders whose owner cannot be checked (another host, or a name without a pid from an
older version) count as stale only when older than :data:`FOREIGN_STALE_AFTER_S`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_write_text", "atomic_write_bytes", "atomic_file", "atomic_directory", "recover_directory"]

logger = logging.getLogger(__name__)

#: Staging folders whose owner cannot be checked (other host, no pid in the name) are stale after this long.
FOREIGN_STALE_AFTER_S = 24 * 3600


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes it private; match a plain open()
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for a writer that wants a file name (e.g. a GIF
    writer); it replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


# ------------------------------------------------------------------ folders

# <host key>-<pid>-<mkdtemp's random part>
_STAGING_RE = re.compile(r"^(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[a-z0-9_]+$")
# Staging folders of this process that are in use (a dead-pid check cannot see these).
_ACTIVE: set[str] = set()
_ACTIVE_LOCK = threading.Lock()


def _host_key() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # pragma: no cover - os.kill(pid, 0) is not a probe there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:  # pragma: no cover - cannot tell: assume alive
        return True
    return True


def _new_staging(parent: Path, kind: str, name: str) -> Path:
    """A fresh hidden folder ``.{kind}-{name}-{host}-{pid}-{random}`` in ``parent``, marked in use."""
    d = Path(tempfile.mkdtemp(dir=parent, prefix=f".{kind}-{name}-{_host_key()}-{os.getpid()}-"))
    with _ACTIVE_LOCK:
        _ACTIVE.add(str(d))
    return d


def _release(d: Path | None) -> None:
    if d is not None:
        with _ACTIVE_LOCK:
            _ACTIVE.discard(str(d))


def _is_stale(d: Path, prefix: str) -> bool:
    """Whether staging folder ``d`` (named ``prefix`` + owner part) belongs to nobody alive."""
    m = _STAGING_RE.match(d.name[len(prefix) :])
    if m is not None and m["host"] == _host_key():
        pid = int(m["pid"])
        if pid == os.getpid():
            with _ACTIVE_LOCK:
                return str(d) not in _ACTIVE
        return not _pid_alive(pid)
    try:
        age = time.time() - d.lstat().st_mtime
    except FileNotFoundError:
        return False
    return age > FOREIGN_STALE_AFTER_S


def _stale_staging(parent: Path, kind: str, name: str) -> list[Path]:
    prefix = f".{kind}-{name}-"
    try:
        entries = [e for e in os.scandir(parent) if e.name.startswith(prefix) and e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return []
    return sorted((Path(e.path) for e in entries if _is_stale(Path(e.path), prefix)), key=lambda d: d.name)


def recover_directory(path: str | os.PathLike) -> bool:
    """Repair what a process killed inside :func:`atomic_directory` left beside ``path``.

    If ``path`` is missing and a dead owner's ``.old-`` copy of it exists (killed between the two
    renames of a replacement), that copy is moved back: the interrupted replacement is rolled
    back, deterministically (with several such copies, the most recently set aside wins). Then
    the dead owners' staging folders for ``path`` (``.tmp-`` and ``.old-``) are deleted. Live
    processes' folders are left alone. Returns True if ``path`` was restored.
    """
    path = Path(path)
    parent, name = path.parent, path.name
    restored = False
    olds = _stale_staging(parent, "old", name)
    if not os.path.lexists(path):
        kept = [d for d in olds if os.path.lexists(d / "x")]
        if kept:
            src = max(kept, key=lambda d: (d.lstat().st_mtime_ns, d.name))
            try:
                os.replace(src / "x", path)
            except OSError as e:  # e.g. another caller created path meanwhile: nothing to restore then
                logger.warning("could not restore %s from %s (%s)", path, src, e)
            else:
                restored = True
                logger.warning("restored %s from %s, left by a process killed while replacing it", path, src)
    for d in olds + _stale_staging(parent, "tmp", name):
        logger.info("removing %s, left by an interrupted atomic_directory()", d)
        shutil.rmtree(d, ignore_errors=True)
    return restored


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Build a folder under a temporary name and move it into place only if the block succeeds.

    Yields the temporary folder to fill. An exception leaves ``path`` as it was (a failure between
    the two renames of a replacement is rolled back at once) and removes the temporary folder. A
    kill leaves hidden staging folders that are never mistaken for the real thing; the next call
    for ``path`` first runs :func:`recover_directory`, which restores ``path`` if the kill came
    between the renames and deletes the dead process's staging folders.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_directory(path)
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"{path} already exists (pass overwrite=True to replace it)")
    tmp = _new_staging(path.parent, "tmp", path.name)
    old: Path | None = None
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; the result should look like mkdir's
    try:
        yield tmp
        if os.path.lexists(path):
            old = _new_staging(path.parent, "old", path.name)
            os.replace(path, old / "x")
            try:
                os.replace(tmp, path)
            except BaseException:
                try:  # roll back now; if even that fails, the next call's recovery does it
                    os.replace(old / "x", path)
                except BaseException as e:
                    logger.error("could not put %s back from %s (%s); the next call restores it", path, old, e)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not os.path.lexists(old / "x"):
            shutil.rmtree(old, ignore_errors=True)  # nothing left in it to restore
        raise
    finally:
        _release(tmp)
        _release(old)
