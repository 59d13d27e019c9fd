"""The one writer of every command that writes files (generate, docs, schema, annotations, render --out-dir).

A folder the tool writes into may come from a pull request: a committed `workflows/x.yaml -> ~/.bashrc`
or `workflows/templates -> /elsewhere` must not make the maintainer's next run write outside it. So:
- every folder between the root and the file is opened without following a link (O_NOFOLLOW), and the
  file itself is opened with O_NOFOLLOW: a link anywhere on the way is refused, naming the path;
- only a regular file is replaced (never a FIFO or a device);
- in a folder of generated files (`mark`), a file that does not start with the generated header is the
  user's own: it is never overwritten;
- the text goes to a new file beside the old one, which is then renamed over it: a failed write (a full
  disk, a signal) leaves the old file whole.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from .errors import ToolkitError


def _parts(path: Path, root: Path) -> tuple[str, ...]:
    try:
        rel = path.relative_to(root)
    except ValueError:
        raise ToolkitError(f"refusing to write {path}: it is outside {root}") from None
    if not rel.parts or ".." in rel.parts:
        raise ToolkitError(f"refusing to write {path}: it is outside {root}")
    return rel.parts


def refuse_link(path: Path) -> ToolkitError:
    try:
        to = f" (to {os.readlink(path)})"
    except OSError:
        to = ""
    return ToolkitError(f"refusing to write {path}: it is a symbolic link{to}; the tool writes only regular "
                        f"files inside the folder (remove the link, or replace it with a file)")


def link_on_way(path: Path, root: Path) -> Path | None:
    """The first symbolic link from root down to path (path included), or None: `--check` calls such a
    file stale, since writing it would be refused."""
    cur = root
    for part in _parts(path, root):
        cur = cur / part
        if cur.is_symlink():
            return cur
    return None


def is_regular(path: Path) -> bool:
    """A regular file that is no link."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _open_dir(name: str, dir_fd: int | None, path: Path, create: bool) -> int:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            if os.path.islink(path):
                raise refuse_link(path) from None
            raise ToolkitError(f"refusing to write under {path}: it is not a folder") from None
        raise ToolkitError(f"cannot open {path}: {exc.strerror or exc}") from None
    try:
        os.mkdir(name, 0o777, dir_fd=dir_fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ToolkitError(f"cannot create {path}: {exc.strerror or exc}") from None
    return _open_dir(name, dir_fd, path, create=False)


def write_text(path: Path, text: str, *, root: Path, mark: str | None = None) -> Path:
    """Write text to path, which must lie inside root (no '..'); folders are created as needed.
    With mark, an existing file must start with it (the generated header) to be replaced."""
    path, root = Path(path), Path(root)
    parts = _parts(Path(os.path.normpath(path)), Path(os.path.normpath(root)))
    try:  # the root is the folder the user (or the config) named: it may itself be a link
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise ToolkitError(f"cannot write into {root}: {exc.strerror or exc}") from None
    try:
        cur = root
        for part in parts[:-1]:
            cur = cur / part
            nxt = _open_dir(part, fd, cur, create=True)
            os.close(fd)
            fd = nxt
        _write_in(fd, parts[-1], path, text, mark)
    finally:
        os.close(fd)
    return path


def _write_in(dir_fd: int, name: str, path: Path, text: str, mark: str | None) -> None:
    try:
        st = os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        st = None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise refuse_link(path)
        if not stat.S_ISREG(st.st_mode):
            raise ToolkitError(f"refusing to write {path}: it exists and is not a regular file")
        if mark is not None and st.st_size:
            _check_mark(dir_fd, name, path, mark)
    # a new file beside the old one, then renamed over it: a full disk, a signal or a second run never
    # leaves the user's file cut short or mixed (attack24d F10); the rename replaces a name, never follows it
    tmp = f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o666, dir_fd=dir_fd)
    except OSError as exc:
        raise ToolkitError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            if st is not None:
                os.fchmod(f.fileno(), stat.S_IMODE(st.st_mode))
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException as exc:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise ToolkitError(f"cannot write {path}: {exc.strerror or exc}; the file was left as it was") from None
        raise


def _check_mark(dir_fd: int, name: str, path: Path, mark: str) -> None:
    """In a folder of generated files, a file that does not start with the generated header is the user's."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise refuse_link(path) from None
        raise ToolkitError(f"cannot read {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ToolkitError(f"refusing to write {path}: it exists and is not a regular file")
        if f.read(len(mark.encode())) != mark.encode():
            raise ToolkitError(f"refusing to overwrite {path}: it was not written by cogniverse-chart (it does "
                               f"not start with {mark!r}); move it away or choose another output folder")
