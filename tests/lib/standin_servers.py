"""Stand-in servers for hostile-network tests, on loopback, started and stopped by the test that uses them.

They stand in for a broken or hostile API server or registry (which no real one can be made to be on
purpose): each accepts TCP connections on 127.0.0.1 and then misbehaves in one way:

- `stall`: reads the request and never answers (a wedged API server or registry);
- `endless`: answers 200 with a body that never ends (a hostile server, or a proxy gone wrong);
- `trickle`: answers 200 and sends one byte a second, forever (defeats a per-read timeout);
- `garbage`: answers 200 with a body that is not JSON;
- `gzip-bomb`: answers 200 with 130 KB of gzip that expands to 128 MiB;
- `wrong-types`: answers 200 with JSON objects whose fields have the wrong types (`status: 5`);
- `tls-stall` (with `tls=(cert, key)`): completes the TLS handshake, reads the request, never answers;
- `json` (with `body=`): answers every request with that JSON object (a hostile but well-formed API server:
  attack21d #17's escape sequences in a Workflow's status); a GET of a collection gets `{"items": [body]}`.

Every server records the request lines it read in `lines` (`GET /apis/... HTTP/1.1`).

    with StandinServer("stall") as srv:
        srv.url                                   # http://127.0.0.1:PORT
        kubeconfig(tmp_path, srv.url)             # a kubeconfig pointing at it
"""

from __future__ import annotations

import functools
import json
import re
import socket
import ssl
import threading
import time
import zlib
from pathlib import Path

_HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"


@functools.cache
def _gzip_bomb() -> bytes:
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join(co.compress(b"[" * (1 << 20)) for _ in range(128)) + co.flush()


class StandinServer:
    def __init__(self, mode: str, tls: tuple[Path, Path] | None = None, body: object = None):
        self.mode = mode
        self.body = body
        self.lines: list[str] = []
        self.tls = tls
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.scheme = "https" if tls else "http"
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self.requests = 0
        if mode == "gzip-bomb":
            _gzip_bomb()  # made before any client starts its clock (once per process)

    def __enter__(self) -> "StandinServer":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.sock.close()
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
                conn = ctx.wrap_socket(conn, server_side=True)
                self._conns.append(conn)
            request = conn.recv(65536)  # the request (headers; enough for these tests)
            self.requests += 1
            self.lines.append(request.split(b"\r\n", 1)[0].decode("latin-1"))
            if self.mode in ("stall", "tls-stall"):
                self._stop.wait()
            elif self.mode == "endless":
                conn.sendall(_HEADERS)
                chunk = b"[" * 65536
                frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
                while not self._stop.is_set():
                    conn.sendall(frame)
            elif self.mode == "trickle":
                conn.sendall(_HEADERS)
                while not self._stop.is_set():
                    conn.sendall(b"1\r\n \r\n")
                    time.sleep(1)
            elif self.mode == "gzip-bomb":
                body = _gzip_bomb()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                self._stop.wait()
            elif self.mode == "wrong-types":
                body = (b'{"metadata": {"name": "wf"}, "status": 5, '
                        b'"items": [{"metadata": {"name": "a", "labels": 5}, "status": {"nodes": [1]}}]}')
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\n\r\n%s" % (len(body), body))
            elif self.mode == "json":
                head, _, got = request.partition(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                while length and len(got) < int(length[1]) and (more := conn.recv(65536)):
                    got += more  # the whole request body (a POST), before answering
                path = self.lines[-1].split(" ")[1].split("?")[0] if " " in self.lines[-1] else ""
                listed = self.lines[-1].startswith("GET ") and path.endswith("s")
                body = json.dumps({"items": [self.body]} if listed else self.body).encode()
                status = b"201 Created" if self.lines[-1].startswith("POST ") else b"200 OK"  # as the API server
                conn.sendall(b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\n\r\n%s" % (status, len(body), body))
            elif self.mode == "garbage":
                body = b"<html>not the API server</html>"
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\n\r\n%s" % (len(body), body))
        except OSError:
            pass


def kubeconfig(directory: Path, server: str, *, token_file: str | None = None) -> Path:
    """A kubeconfig whose one cluster is `server` (a token user, or a tokenFile user)."""
    user = f"tokenFile: {token_file}" if token_file else "token: standin"
    path = directory / "standin.kubeconfig"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: standin, cluster: {{server: "{server}", insecure-skip-tls-verify: true}}}}]
users: [{{name: standin, user: {{{user}}}}}]
contexts: [{{name: standin, context: {{cluster: standin, user: standin}}}}]
current-context: standin
""")
    return path
