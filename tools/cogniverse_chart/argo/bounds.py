"""Bounds on the `kubernetes` client, for every command that talks to the cluster (see io_limits):

- `BoundedPool`: the client's urllib3 pool with each request under a `Deadline` ((connect, read) timeouts
  of at most the time left, retries only while time is left and never after a read timeout) and each
  answer read up to `MAX_RESPONSE_BYTES`;
- `check_kubeconfig_refs`: the token, certificate and key files a kubeconfig names are bounded regular files;
- `bounded_exec_plugins`: a kubeconfig's credential plugin (users[].exec) is stopped when the deadline ends.
"""

from __future__ import annotations

import math
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from .. import io_limits
from ..io_limits import Deadline, DeadlineExceeded


#: kubeconfig fields that name files the kubernetes client reads whole (relative to the kubeconfig)
_KUBECONFIG_FILES = {"users": ("user", ("tokenFile", "client-certificate", "client-key")),
                     "clusters": ("cluster", ("certificate-authority",))}


def check_kubeconfig_refs(path: Path, config: dict[str, Any]) -> None:
    """Every token, certificate and key file a kubeconfig names must be a regular file of at most
    MAX_SMALL_BYTES: the client reads them whole (a tokenFile on /dev/zero once took 1.8 GB)."""
    for section, (inner, keys) in _KUBECONFIG_FILES.items():
        entries = config.get(section)
        for entry in entries if isinstance(entries, list) else []:
            fields = entry.get(inner) if isinstance(entry, dict) else None
            for key in keys:
                name = fields.get(key) if isinstance(fields, dict) else None
                if not isinstance(name, str) or not name:
                    continue
                f = Path(name) if Path(name).is_absolute() else path.parent / name
                st = io_limits.check_file(f, f"kubeconfig {path}: {key}")
                if st.st_size > io_limits.MAX_SMALL_BYTES:
                    raise io_limits.too_large(f"kubeconfig {path}: {key} {f}", io_limits.MAX_SMALL_BYTES)


def _deadline_retry(deadline: Deadline) -> Any:
    """The retries of `retry_dropped_connections`, under a deadline: none after a read timeout (the server
    may be working on the request, and waiting again would double the wait) and none when less than a
    connect timeout is left."""
    from urllib3.exceptions import ReadTimeoutError
    from urllib3.util.retry import Retry

    class DeadlineRetry(Retry):
        def new(self, **kw: Any) -> Retry:
            return DeadlineRetry(**{**dict(total=self.total, connect=self.connect, read=self.read,
                                           status=self.status, allowed_methods=self.allowed_methods,
                                           backoff_factor=self.backoff_factor), **kw})

        def increment(self, method: Any = None, url: Any = None, response: Any = None, error: Any = None,
                      _pool: Any = None, _stacktrace: Any = None) -> Retry:
            if error is not None and (isinstance(error, ReadTimeoutError)
                                      or deadline.left() < io_limits.CONNECT_TIMEOUT):
                raise error
            return super().increment(method, url, response, error, _pool, _stacktrace)

    return DeadlineRetry(total=3, connect=3, read=1, status=0, allowed_methods=None, backoff_factor=0.2)


class _Answer:
    """An HTTP answer read whole (and bounded) by `BoundedPool`, as the kubernetes client reads it."""

    def __init__(self, resp: Any, data: bytes):
        self.status, self.reason, self.headers, self.data = resp.status, resp.reason, resp.headers, data

    def getheaders(self) -> Any:
        return self.headers

    def getheader(self, name: str, default: Any = None) -> Any:
        return self.headers.get(name, default)


class BoundedPool:
    """The kubernetes client's urllib3 pool with every request under `deadline`: (connect, read) timeouts
    of at most the time left, deadline-aware retries, and the answer read up to `limit` bytes (watch
    streams pass through, with their timeouts)."""

    def __init__(self, pool: Any, deadline: Deadline, limit: int = io_limits.MAX_RESPONSE_BYTES):
        self._pool, self.deadline, self.limit = pool, deadline, limit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)

    def request(self, method: str, url: str, **kw: Any) -> Any:
        import urllib3

        parts = urlsplit(url)
        what = f"the API server at {parts.netloc}"
        watch = "watch=true" in (parts.query or "").lower()
        connect, read = self.deadline.timeouts(what, read=io_limits.READ_TIMEOUT + (30 if watch else 0))
        kw["timeout"] = urllib3.Timeout(connect=connect, read=read)
        kw["retries"] = _deadline_retry(self.deadline)
        resp = self._pool.request(method, url, **kw)
        if watch:
            return resp
        try:
            # read1: what has arrived (resp.read(n) waits for n bytes, which a trickle never completes)
            data = io_limits.read_stream(getattr(resp, "read1", resp.read), f"the answer of {what} to {method} {parts.path}",
                                         self.limit, self.deadline)
        except BaseException:
            resp.close()
            raise
        resp.release_conn()
        return _Answer(resp, data)


class PluginTimeout(BaseException):
    """A credential plugin outlived the deadline (a BaseException: the kubernetes client logs and swallows
    every Exception its plugins raise, and would go on without credentials)."""


@contextmanager
def bounded_exec_plugins(deadline: Deadline) -> Iterator[None]:
    """While loading a kubeconfig: its users[].exec plugin is killed when the deadline ends (the client
    waits for it without a timeout), raising DeadlineExceeded naming the plugin."""
    from kubernetes.config import exec_provider

    class BoundedPopen(subprocess.Popen):  # type: ignore[type-arg]
        def communicate(self, input: Any = None, timeout: float | None = None) -> Any:
            left = deadline.left()
            try:
                return super().communicate(input, None if math.isinf(left) else max(left, 0.01))
            except subprocess.TimeoutExpired:
                self.kill()
                super().communicate()
                raise PluginTimeout(self.args) from None

    class Shim:
        Popen = BoundedPopen

        def __getattr__(self, name: str) -> Any:
            return getattr(subprocess, name)

    real = exec_provider.subprocess
    exec_provider.subprocess = Shim()
    try:
        yield
    except PluginTimeout as exc:
        command = exc.args[0][0] if exc.args and exc.args[0] else "?"
        raise DeadlineExceeded(deadline.expired_message(f"the kubeconfig's credential plugin (users[].exec: {command})")) from None
    finally:
        exec_provider.subprocess = real
