"""The failure rule of test_browser.py's pages (`Page`), in the same real Chromium, on pages served from
loopback (no cluster needed; it runs in the smoke session because scripts/local_cluster.sh up installs
Chromium): requests to a listed offline host, the console errors they log and the uncaught `Failed to
fetch` they cause are excused; a failed request to any other host, the page's own server above all,
and any error beyond what the offline requests explain still fail the page.

`offline.example.invalid` stands in for an external host this machine cannot reach (.invalid never resolves).
"""

from __future__ import annotations

import http.server
import socket
import threading
from typing import Any, Iterator

import pytest

from test_browser import Page, browser  # noqa: F401 (browser: the module's Chromium fixture)

# argo_leg("first"): the browser harness on a loopback page, no Argo: one leg of the matrix runs it
pytestmark = [pytest.mark.smoke, pytest.mark.argo_leg("first")]
OFFLINE = {"offline.example.invalid": "stands in for an external host the machine cannot reach"}
EXTERNAL = "fetch('https://offline.example.invalid/stars').then(r => r.json());"  # no catch, as Phoenix does


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """GET /<script> serves a page running that script (URL-decoded); anything else under /missing is a 404."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/missing"):
                self.send_error(404)
                return
            from urllib.parse import unquote
            body = f"<html><body>page<script>{unquote(self.path[1:])}</script></body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def visit(browser: Any, site: str, script: str, offline: dict[str, str] | None) -> Page:
    from urllib.parse import quote
    page = Page(browser, site, offline)
    page.open("/" + quote(script)).wait_for_load_state("networkidle")
    page.page.wait_for_timeout(500)  # let the rejected fetch reach the page as an uncaught error
    return page


def test_a_listed_offline_host_is_excused_with_its_console_error_and_uncaught_fetch(browser, site):
    page = visit(browser, site, EXTERNAL, OFFLINE)
    page.finish("page-rule-offline")
    assert any(e.startswith("request failed: GET https://offline.example.invalid/stars") for e in page.excused)
    assert any(e.startswith("uncaught exception:") for e in page.excused), page.excused


def test_the_same_host_fails_the_page_when_not_listed(browser, site):
    page = visit(browser, site, EXTERNAL, None)
    with pytest.raises(AssertionError, match="request failed: GET https://offline.example.invalid/stars"):
        page.finish("page-rule-unlisted")


def test_a_failed_request_to_the_pages_own_server_still_fails(browser, site):
    page = visit(browser, site, EXTERNAL + "fetch('/missing');", OFFLINE)
    with pytest.raises(AssertionError, match=r"HTTP 404: GET http://127\.0\.0\.1:\d+/missing"):
        page.finish("page-rule-own-404")


def test_an_uncaught_fetch_failure_beyond_the_offline_ones_still_fails(browser, site):
    refused = f"fetch('http://127.0.0.1:{closed_port()}/api').then(r => r.json());"
    page = visit(browser, site, EXTERNAL + refused, OFFLINE)
    with pytest.raises(AssertionError) as err:
        page.finish("page-rule-refused")
    assert "ERR_CONNECTION_REFUSED" in str(err.value) and "Failed to fetch" in str(err.value), str(err.value)
