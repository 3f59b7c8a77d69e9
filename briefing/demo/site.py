"""A loopback web server for the demo's sample feeds and pages, and an httpx transport that
routes every outlet's host to it (I/O).

`https://www.bbc.co.uk/news/x` is answered from `site/www.bbc.co.uk/news/x` (or `x.html`,
`x.xml`), so feeds and items keep their real addresses while nothing leaves the machine.
"""

from __future__ import annotations

import os
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import httpx

SITE = Path(__file__).resolve().parent / "site"


class _SiteHandler(SimpleHTTPRequestHandler):
    def translate_path(self, path: str) -> str:
        base = Path(super().translate_path(urlsplit(path).path))
        for candidate in (
            base,
            base.with_name(base.name + ".html"),
            base.with_name(base.name + ".xml"),
        ):
            if candidate.is_file():
                return str(candidate)
        return str(base)

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        if str(path).endswith(".xml"):
            return "application/xml"
        return super().guess_type(path)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the demo prints its own summary


class SiteServer:
    """The sample site on 127.0.0.1, on a free port, in a background thread."""

    def __init__(self, root: Path = SITE) -> None:
        handler = partial(_SiteHandler, directory=str(root))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> SiteServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


class RouteToSite(httpx.AsyncHTTPTransport):
    """Sends each request to the site server, with the original host as the first path part."""

    def __init__(self, site_url: str) -> None:
        super().__init__()
        self._site = site_url

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        local = httpx.Request(
            request.method,
            f"{self._site}/{url.host}{url.raw_path.decode('ascii')}",
            headers=request.headers,
            stream=request.stream,
        )
        return await super().handle_async_request(local)
