"""The HTTP plumbing the fakes share: `LoopbackFake`, a base that serves its `_handle(handler)` on
127.0.0.1 from a daemon thread until `close()` (or the end of a `with`), the threaded server under it, and
a request handler that reads plain and chunked bodies (httpx and the SDKs send both)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol, Self


class Fake(Protocol):
    def _handle(self, handler: FakeHandler) -> None: ...


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: Fake
    connections = 0  # accepted so far (a client that keeps its connections alive opens fewer)

    def __init__(self, fake: Fake) -> None:
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.fake = fake

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1  # only the serving thread accepts
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up mid-answer is expected; stay quiet about it.
        return


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An answer is written as two sends (headers, then body): with Nagle's algorithm the body waits for
    # the client's delayed ACK of the headers, up to 40 ms a response, which no real server adds.
    disable_nagle_algorithm = True
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    def do_POST(self) -> None:
        self.server.fake._handle(self)

    def do_PUT(self) -> None:
        self.server.fake._handle(self)

    def do_DELETE(self) -> None:
        self.server.fake._handle(self)

    def read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""


class LoopbackFake:
    """Base of the fakes: `_serve(name)` starts the server (then `base_url` is set); `_closing` is set
    when the fake closes, so delayed answers can stop waiting."""

    base_url: str

    def _serve(self, name: str) -> None:
        self._closing = threading.Event()
        self._server = FakeServer(self)
        self.base_url = f"http://127.0.0.1:{self._server.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name=name
        )
        self._thread.start()

    @property
    def connections(self) -> int:
        """TCP connections accepted so far."""
        return self._server.connections

    def _handle(self, handler: FakeHandler) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
