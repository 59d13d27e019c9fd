"""Bounds on everything the toolkit reads and waits for: the one place every command takes them from.

- `check_file(path, what)`: a path that is meant to be a regular file; a named pipe (FIFO), a device or
  a socket is refused before anything opens it (opening a FIFO waits for a writer; /dev/zero never ends);
- `read_bytes` / `read_text`: a whole file, refused past a limit (`MAX_TEXT_BYTES` for values files and
  kubeconfigs, `MAX_SMALL_BYTES` for keys, tokens, certificates and passwords);
- `read_stream(read, what, limit, deadline)`: any stream (an HTTP response, a pipe) read in blocks up to a
  limit and, when given, a deadline;
- `read_line(stream, what, limit)`: one line (a password on stdin);
- `check_chart(path)`: a --chart that is a directory or a bounded regular file (a packaged chart);
- `Deadline`: a command's `--timeout` as a whole deadline, and the (connect, read) timeouts of each network
  call made under it.

Every refusal is a `ToolkitError` (one line naming the file or stream, the limit and what to do).
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Callable, IO

from .errors import ToolkitError

MiB = 1024 * 1024
#: values files, kubeconfigs, manifests read whole: far above any real one (the chart's values.yaml: 40 KB)
MAX_TEXT_BYTES = 16 * MiB
#: Helm's largest file in a chart (Chart.yaml, values.yaml, ...): `helm template` refuses a larger one
MAX_CHART_FILE_BYTES = 5 * MiB
#: a token, a certificate, a key, a CA bundle, a keyring, a passphrase
MAX_SMALL_BYTES = 1 * MiB
#: one API server answer (a list of Workflows with their node status included)
MAX_RESPONSE_BYTES = 64 * MiB
#: one line of stdin (a registry password)
MAX_LINE_BYTES = 4096
#: network calls: at most this long to connect, and to wait for the next bytes of an answer
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
_BLOCK = 64 * 1024


class LimitExceeded(ToolkitError):
    """A file, stream or response is larger than its bound."""


class DeadlineExceeded(ToolkitError):
    """The command's --timeout ran out."""


def where(path: Path | str, what: str = "") -> str:
    """How a message names a file: "values file x.yaml", or just "x.yaml" without a `what`."""
    return f"{what} {path}" if what else str(path)


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB and n % MiB == 0 else f"{n:,} bytes"


def check_file(path: Path | str, what: str = "") -> os.stat_result:
    """stat() of a path that must be a readable regular file; one line naming it otherwise."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ToolkitError(f"{where(path, what)}: not found") from None
    except OSError as exc:
        raise ToolkitError(f"{where(path, what)}: cannot read: {exc.strerror or exc}") from None
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise ToolkitError(f"{where(path, what)}: is a directory, not a file")
    if stat.S_ISFIFO(mode):
        raise ToolkitError(f"{where(path, what)}: is a named pipe (FIFO), not a file: reading it would wait for a "
                           f"writer; save the content to a file (or use '-' for stdin where a command takes it)")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise ToolkitError(f"{where(path, what)}: is a device, not a file (a device such as /dev/zero never ends)")
    if not stat.S_ISREG(mode):
        raise ToolkitError(f"{where(path, what)}: is a socket or other special file, not a regular file")
    return st


def check_chart(path: Path | str) -> None:
    """--chart: a chart directory (Helm refuses irregular files inside it), or a packaged chart that is a
    regular file of a bounded size (Helm would wait on a FIFO named as the chart)."""
    if not os.path.isdir(path) and check_file(path, "chart").st_size > MAX_TEXT_BYTES:
        raise too_large(f"chart {path}", MAX_TEXT_BYTES)


def check_chart_file(path: Path | str) -> None:
    """A file Helm reads from a chart (Chart.yaml): refused above Helm's own limit, before parsing it
    (a 15 MB Chart.yaml took minutes and a gigabyte in PyYAML; Helm refuses it at once)."""
    if check_file(path).st_size > MAX_CHART_FILE_BYTES:
        raise LimitExceeded(f"{path}: larger than {_size(MAX_CHART_FILE_BYTES)}, the largest chart file Helm reads "
                            f"(it refuses it too); is it the right file?")


def too_large(where: str, limit: int, kind: str = "file") -> LimitExceeded:
    return LimitExceeded(f"{where}: larger than {_size(limit)}, the limit for this {kind}; is it the right one?")


def read_bytes(path: Path | str, what: str = "", limit: int = MAX_TEXT_BYTES) -> bytes:
    """The whole regular file (see `check_file`), refused when larger than `limit` bytes."""
    st = check_file(path, what)
    if st.st_size > limit:
        raise too_large(where(path, what), limit)
    try:
        # O_NONBLOCK: should the path have become a FIFO since the check, open() does not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ToolkitError(f"{where(path, what)}: cannot read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            raise ToolkitError(f"{where(path, what)}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:  # grew since stat
        raise too_large(where(path, what), limit)
    return data


def decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolkitError(f"{where}: not UTF-8 text (byte {exc.start}); is it the right file? "
                           f"Save it as UTF-8") from None


def read_text(path: Path | str, what: str = "", limit: int = MAX_TEXT_BYTES) -> str:
    """The whole file as UTF-8 text (see `read_bytes`)."""
    return decode(read_bytes(path, what, limit), where(path, what))


def read_stream(read: Callable[[int], bytes], what: str, limit: int,
                deadline: "Deadline | None" = None) -> bytes:
    """Everything `read(n)` returns until it returns b"", refused past `limit` bytes or the deadline
    (an endless answer, a stream that trickles forever)."""
    parts: list[bytes] = []
    total = 0
    while True:
        if deadline is not None:
            deadline.check(what)
        block = read(_BLOCK)
        if not block:
            return b"".join(parts)
        total += len(block)
        if total > limit:
            raise too_large(what, limit, "answer")
        parts.append(block)


def read_line(stream: IO[str], what: str, limit: int = MAX_LINE_BYTES) -> str:
    """One line without its newline, refused when longer than `limit` characters."""
    line = stream.readline(limit + 1)
    if len(line) > limit and not line.endswith("\n"):
        raise LimitExceeded(f"{what}: a line longer than {limit:,} characters")
    return line.rstrip("\r\n")


class Deadline:
    """A whole deadline of `seconds` from now (a command's --timeout): every network call made under it
    gets at most the time left."""

    def __init__(self, seconds: float, option: str = "--timeout"):
        self.seconds = seconds
        self.option = option
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def expired_message(self, what: str) -> str:
        return f"{what}: no result within {self.option} {self.seconds:g} s"

    def check(self, what: str) -> float:
        """Seconds left; DeadlineExceeded naming `what` when none are."""
        left = self.left()
        if left <= 0:
            raise DeadlineExceeded(self.expired_message(what))
        return left

    def timeouts(self, what: str, connect: float = CONNECT_TIMEOUT, read: float = READ_TIMEOUT) -> tuple[float, float]:
        """(connect, read) seconds for the next call: the caps, or the time left when that is shorter."""
        left = self.check(what)
        return min(connect, left), min(read, left)
