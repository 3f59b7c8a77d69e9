"""A real HTTP server on 127.0.0.1 for tests, answering from a table of routes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


# A route returns the Reply to send, or None when it has written the response itself.
Route = Callable[[BaseHTTPRequestHandler], Reply | None]


@dataclass
class Loopback:
    url: str
    routes: dict[str, Route]
    requests: list[tuple[str, dict[str, str]]]  # (path, headers) of every request

    def add(self, path: str, route: Route | Reply) -> str:
        self.routes[path] = route if callable(route) else (lambda _request, r=route: r)
        return self.url + path


@contextmanager
def loopback_server() -> Iterator[Loopback]:
    routes: dict[str, Route] = {}
    seen: list[tuple[str, dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, dict(self.headers)))
            route = routes.get(self.path)
            reply = route(self) if route else Reply(404, b"not found")
            if reply is None:
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if "Content-Length" not in reply.headers:
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Loopback(f"http://127.0.0.1:{server.server_address[1]}", routes, seen)
    finally:
        server.shutdown()
        server.server_close()
