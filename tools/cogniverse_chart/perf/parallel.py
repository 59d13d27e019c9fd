"""Large manifest streams checked on two cores: the input is cut in two at a document separator near
its middle, a forked child checks the second part while this process checks the first, and the two
results are joined in stream order, so the result is what one process gives (tests/validate/test_validate_parallel.py).

    result = sharded(paths, work, join)   # work(documents) -> a picklable result; join(first, second)

- Only regular files (or directories of them) of at least MIN_BYTES together, and only with two cores or
  more (the CPUs this process may run on); stdin, small inputs and one core read the stream in one pass.
  COGNIVERSE_CHART_JOBS=1 turns the split off (and =2 allows it), for measurements and tests.
- The cut is a `---` line (kubectl's separator: the one split_stream uses), so each part reads exactly the
  documents one pass reads, with the same line numbers (the child counts the lines before its part).
- Anything but a clean result from either part (an input error, a crash of the child) and the whole input
  is read again in one pass, which gives the error exactly as before: only a failing run pays twice.
"""

from __future__ import annotations

import os
import signal
import struct
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from ..documents import Document, iter_documents, read_paths
from ..errors import ToolkitError
from .yaml_loader import split_stream

T = TypeVar("T")
#: Below this many bytes a second process costs more than it saves (measured with
#: benchmarks/bench_validate.py: 2 MB of small ConfigMaps still gain a fifth of their wall time).
MIN_BYTES = 1 << 20
_WINDOW = 1 << 20  # bytes searched for a separator from the middle on
_COUNT_BLOCK = 1 << 17  # bytes read at a time to count the lines before the child's part (each one is garbage at once)
Segment = tuple[Path, int, int]  # (file, first byte, end byte)


def cores() -> int:
    """CPUs this process may run on, or what COGNIVERSE_CHART_JOBS says (1 or 2)."""
    forced = os.environ.get("COGNIVERSE_CHART_JOBS", "")
    if forced.strip() in ("1", "2"):
        return int(forced)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _files(paths: list[str]) -> list[tuple[Path, int]] | None:
    """(file, size) of every input in reading order, or None when any is stdin, missing or not a regular
    file (one pass then reports it, exactly as before)."""
    from ..documents import _walk

    out = []
    for p in paths:
        path = Path(p)
        if p == "-" or not path.exists():
            return None
        try:
            found = _walk(path) if path.is_dir() else [path]
            if not found:
                return None
            for f in found:
                st = f.stat()
                if not f.is_file():
                    return None
                out.append((f, st.st_size))
        except (OSError, ToolkitError):
            return None
    return out


def _separator_at_or_after(path: Path, offset: int) -> int | None:
    """Byte offset of the first `---` separator line starting at or after `offset` (within _WINDOW)."""
    with open(path, "rb") as f:
        f.seek(max(offset - 1, 0))
        window = f.read(_WINDOW + 1)
    pos = 0 if offset == 0 else 1  # the byte before `offset` is read to see whether a line starts there
    if offset > 0 and window[:1] != b"\n":
        pos = window.find(b"\n---", 0)
        pos = -1 if pos < 0 else pos + 1
    while 0 <= pos:
        end = window.find(b"\n", pos)
        if end < 0:
            return None  # the separator's line end lies past the window: not worth the trouble
        if window.startswith(b"---", pos):
            tail = window[pos + 3:end].lstrip(b" \t\r")
            if not tail or tail[:1] == b"#":
                return max(offset - 1, 0) + pos
        pos = window.find(b"\n---", end)
        pos = -1 if pos < 0 else pos + 1
    return None


def _cut(files: list[tuple[Path, int]]) -> tuple[list[Segment], list[Segment]] | None:
    """The two parts: whole files before the middle, the file the middle falls in cut at a separator
    (or, without one near the middle, at the next file's start), the rest."""
    total = sum(size for _, size in files)
    before = 0
    for i, (path, size) in enumerate(files):
        if before + size > total // 2:
            at = _separator_at_or_after(path, total // 2 - before)
            if at is not None and 0 < at < size:
                first = [(p, 0, s) for p, s in files[:i]] + [(path, 0, at)]
                second = [(path, at, size)] + [(p, 0, s) for p, s in files[i + 1:]]
                return first, second
            if i + 1 < len(files):
                return [(p, 0, s) for p, s in files[:i + 1]], [(p, 0, s) for p, s in files[i + 1:]]
            return None
        before += size
    return None


def read_segments(segments: list[Segment]) -> Iterator[Document]:
    """The documents of byte ranges of files, each starting at the file's start or at a separator line."""
    for path, start, end in segments:
        name = str(path)
        with open(path, "rb") as f:
            line = 0
            while f.tell() < start:  # the lines before the part: its documents keep their line numbers
                block = f.read(min(_COUNT_BLOCK, start - f.tell()))
                if not block:
                    break
                line += block.count(b"\n")
            left = end - start

            def read(n: int, f: Any = f) -> bytes:
                nonlocal left
                block = f.read(min(n, left))
                left -= len(block)
                return block

            yield from iter_documents(split_stream(read, name, line), name)


def sharded(paths: list[str], work: Callable[[Iterator[Document]], T], join: Callable[[T, T], T],
            one_pass: Callable[[], Iterator[Document]] | None = None, before_fork: Callable[[], None] | None = None) -> T:
    """work() over the documents of `paths`, on two cores when the input is large (see the module);
    `one_pass` reads the whole input when it is not split (read_paths unless given); `before_fork` runs only
    when it is, before the child is forked: what it loads (the schema bundles) the child shares copy-on-write
    instead of loading its own copy."""
    read_all = one_pass or (lambda: read_paths(paths))
    files = _files(paths) if cores() >= 2 else None
    parts = _cut(files) if files and sum(size for _, size in files) >= MIN_BYTES else None
    if parts is None:
        return work(read_all())
    if before_fork is not None:
        before_fork()
    import gc

    gc.freeze()  # what exists now is never scanned by the collector again: its pages stay shared with the child
    second = _fork(lambda: work(read_segments(parts[1])))
    try:
        first = work(read_segments(parts[0]))
    except Exception:  # noqa: BLE001 - one pass names the problem exactly as it always did
        first = None
    except BaseException:  # Ctrl-C: the child stops with this process (attack24d F11)
        second.kill()
        raise
    other = second()
    if first is None or other is None:
        return work(read_all())
    return join(first, other)


def _fork(job: Callable[[], T]) -> Callable[[], T | None]:
    """Run job() in a forked child; the returned function waits for its result (None if it failed)."""
    import pickle  # only a run that forks pays for it

    r, w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code, never runs its exit handlers
        status = 1
        try:
            _die_with(parent)
            os.close(r)
            data = pickle.dumps(job(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(w, "wb") as out:
                out.write(struct.pack("<Q", len(data)))
                out.write(data)
            status = 0
        except BaseException:  # noqa: BLE001 - the parent reads the input again in one pass
            pass
        finally:
            os._exit(status)
    os.close(w)

    def result() -> T | None:
        with os.fdopen(r, "rb") as f:
            head = f.read(8)
            data = f.read(struct.unpack("<Q", head)[0]) if len(head) == 8 else b""
        _, status = os.waitpid(pid, 0)
        if status != 0 or not data:
            return None
        return pickle.loads(data)

    def kill() -> None:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass

    result.kill = kill  # type: ignore[attr-defined]
    return result


def _die_with(parent: int) -> None:
    """The child ends when its parent does (a CI cancel's SIGTERM, a Ctrl-C): it held stdout open and ran on
    for seconds to minutes (attack24d F11)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent:  # the parent ended before prctl took effect
        os._exit(1)
