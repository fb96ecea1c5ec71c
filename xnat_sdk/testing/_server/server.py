"""Running the WSGI app on a real threaded HTTP/1.1 server in a background thread.

Connections stay open between requests, as on XNAT's Tomcat (its HTTP/1.1 connector, as
the XNAT docker images ship it: ``connectionTimeout="20000"``, which ``keepAliveTimeout``
defaults to, and ``maxKeepAliveRequests`` 100). A client's pooled connection is therefore
reused, the server closes one that stays idle for ``keepalive_timeout`` seconds, and it
closes every connection after its 100th answer (saying ``Connection: close``). Werkzeug's
own development server closes every connection after one answer, which hid what clients
do with reused and idle-closed connections; it still parses requests and builds the WSGI
environ here.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from xnat_sdk.testing._server.app import XNATApp

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["KEEPALIVE_REQUESTS", "KEEPALIVE_TIMEOUT", "MAX_HEADER_SIZE", "BackgroundServer"]

#: Tomcat's ``maxKeepAliveRequests`` default: answers per connection before it is closed
KEEPALIVE_REQUESTS = 100
#: Tomcat's ``keepAliveTimeout`` as XNAT's connector sets it (``connectionTimeout``), seconds
KEEPALIVE_TIMEOUT = 20.0
#: Tomcat's ``maxHttpHeaderSize`` default (XNAT's connector leaves it): the request line and
#: headers together, in bytes; a longer request is answered 400 and its connection closed
MAX_HEADER_SIZE = 8192
# A request body left unread by the app is read and dropped before the next request on the
# connection; past this many bytes the connection is closed instead (Tomcat's
# ``maxSwallowSize`` default, 2 MiB).
_SWALLOW_LIMIT = 2 * 1024 * 1024
# connection errors that end a connection quietly (the client went away, a fault cut it)
_DROPPED = (ConnectionError, TimeoutError, BrokenPipeError)


class _Body(io.RawIOBase):
    """A request body of ``length`` bytes read from the connection, never past its end."""

    def __init__(self, stream: io.BufferedIOBase, length: int) -> None:
        super().__init__()
        self._stream = stream
        self.left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            return 0
        view = memoryview(buffer).cast("B")[: self.left]
        count = self._stream.readinto(view)
        if not count:  # the client closed the connection mid-body
            raise ConnectionAbortedError("the client closed the connection mid-body")
        self.left -= count
        return count


class _Handler(WSGIRequestHandler):
    """One connection: HTTP/1.1 requests answered one after another until either side
    closes it, it has been idle ``server.keepalive_timeout`` seconds, or it has carried
    :data:`KEEPALIVE_REQUESTS` answers. Only errors reach the log."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # an idle connection (and a client that stalls mid-request) is let go after this
        self.connection.settimeout(self.server.keepalive_timeout)
        # answers go out without waiting for the client's acknowledgement of the previous
        # packet, as Tomcat's tcpNoDelay (on by default) does
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.answered = 0
        self.server.opened(self.connection)

    def finish(self) -> None:
        self.server.closed(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silence the access log."""

    def log(self, type: str, message: str, *args: Any) -> None:
        """Only errors reach the log; an idle connection timing out is not one."""
        if type == "error" and not message.startswith("Request timed out"):
            super().log(type, message, *args)

    def run_wsgi(self) -> None:
        """Answer one request, keeping the connection open for the next when it can be."""
        if self._header_size() > MAX_HEADER_SIZE:
            self._too_large()
            return
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        body = self._body(environ)
        self.answered += 1
        if self.answered >= KEEPALIVE_REQUESTS:
            self.close_connection = True
        answer = _Answer(self, environ["REQUEST_METHOD"])
        try:
            result = self.server.app(environ, answer.start_response)
            try:
                for chunk in result:
                    answer.write(chunk)
                answer.finish()
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except _DROPPED:
            self.close_connection = True
            return
        except Exception as exc:  # an app error: a 500 if nothing was sent yet, then close
            self.close_connection = True
            self.server.log(
                "error",
                "Error on request %s %s: %r\n%s",
                self.command,
                self.path,
                exc,
                traceback.format_exc(),
            )
            if not answer.started:
                with contextlib.suppress(*_DROPPED):
                    answer.fail()
            return
        if self.close_connection:
            return
        try:
            drained = _drain(body)
        except (*_DROPPED, OSError, ValueError):
            drained = False
        if not drained:
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals of a request line or header past 64 KB (414, 431)
        answer as Tomcat answers anything past its 8 KB: 400 "Request header is too large"."""
        if code in (414, 431):
            self._too_large()
            return
        super().send_error(code, message, explain)

    def _header_size(self) -> int:
        """The bytes of the request line and headers, as Tomcat counts them."""
        lines = sum(len(name) + len(value) + 4 for name, value in self.headers.items())
        return len(self.raw_requestline) + lines + 2

    def _too_large(self) -> None:
        """Tomcat's answer to a request line and headers past ``maxHttpHeaderSize``."""
        self.close_connection = True
        body = (
            '<!doctype html><html lang="en"><head><title>HTTP Status 400 \u2013 Bad Request'
            "</title></head><body><h1>HTTP Status 400 \u2013 Bad Request</h1><p><b>Message"
            "</b> Request header is too large</p></body></html>"
        ).encode()
        head = (
            "HTTP/1.1 400 \r\nContent-Type: text/html;charset=utf-8\r\nContent-Language: en\r\n"
            f"Content-Length: {len(body)}\r\nDate: {self.date_time_string()}\r\n"
            "Connection: close\r\n\r\n"
        ).encode("latin-1")
        with contextlib.suppress(*_DROPPED):
            self.wfile.write(head + body)

    def _body(self, environ: WSGIEnvironment) -> Any:
        """The request body as ``wsgi.input``: bounded by Content-Length, else chunked."""
        if environ.get("wsgi.input_terminated"):
            return environ["wsgi.input"]  # chunked: Werkzeug's reader stops at its end
        text = environ.get("CONTENT_LENGTH", "").strip()
        try:
            length = int(text) if text else 0
        except ValueError:
            length = -1
        if length < 0:  # the body cannot be delimited: nothing may follow it on this connection
            self.close_connection = True
            length = 0
        body = _Body(self.rfile, length)
        environ["wsgi.input"] = io.BufferedReader(body) if length else body
        return body


def _drain(stream: Any) -> bool:
    """Read and drop what the app left of a request body, at most the swallow limit; True
    when nothing is left. A body of known length past the limit is not read at all."""
    if isinstance(stream, _Body) and stream.left > _SWALLOW_LIMIT:
        return False
    total = 0
    while total <= _SWALLOW_LIMIT:
        data = stream.read(1 << 16)
        if not data:
            return True
        total += len(data)
    return False


class _Answer:
    """The WSGI ``start_response`` and body writer of one request."""

    def __init__(self, handler: _Handler, method: str) -> None:
        self.handler = handler
        self.method = method
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.started = False  # the status line has gone out
        self.chunked = False
        self.length: int | None = None
        self.sent = 0

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
    ) -> Callable[[bytes], object]:
        if exc_info is not None and exc_info[1] is not None and self.started:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status = status
        self.headers = list(headers)
        return self.write

    def _head(self) -> bytes:
        handler = self.handler
        if self.status is None:
            raise AssertionError("the app wrote a body before start_response")
        code = int(self.status.split(None, 1)[0])
        names = {name.lower() for name, _ in self.headers}
        for name, value in self.headers:
            if name.lower() == "content-length":
                with contextlib.suppress(ValueError):
                    self.length = int(value)
        bodiless = self.method == "HEAD" or code < 200 or code in (204, 304)
        extra: list[tuple[str, str]] = []
        if any(n.lower() == "connection" and "close" in v.lower() for n, v in self.headers):
            handler.close_connection = True  # the app's own ``Connection: close``
        # the server alone says what becomes of the connection
        self.headers = [(n, v) for n, v in self.headers if n.lower() != "connection"]
        if "content-length" not in names and not bodiless:
            if handler.request_version == "HTTP/1.1":
                self.chunked = True
                extra.append(("Transfer-Encoding", "chunked"))
            else:  # an HTTP/1.0 client reads the body to the connection's end
                handler.close_connection = True
        if handler.close_connection:
            extra.append(("Connection", "close"))
        elif handler.request_version != "HTTP/1.1":
            extra.append(("Connection", "keep-alive"))
        handler.log_request(code)
        lines = [
            f"{handler.protocol_version} {self.status}",
            f"Server: {handler.version_string()}",
            f"Date: {handler.date_time_string()}",
        ]
        lines += [f"{name}: {value}" for name, value in [*self.headers, *extra]]
        self.started = True
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def write(self, data: bytes) -> None:
        if not data:
            return
        head = b"" if self.started else self._head()
        if self.method == "HEAD":
            self.handler.wfile.write(head)
            return
        self.sent += len(data)
        if self.chunked:
            data = b"%x\r\n%b\r\n" % (len(data), data)
        self.handler.wfile.write(head + data)

    def finish(self) -> None:
        """End the answer: the headers if no body went out, the last chunk if chunked."""
        tail = b"" if self.started else self._head()
        if self.chunked:
            tail += b"0\r\n\r\n"
        if tail:
            self.handler.wfile.write(tail)
        if self.length is not None and self.sent < self.length and self.method != "HEAD":
            # the app sent less than it announced: the client would wait for the rest
            self.handler.close_connection = True

    def fail(self) -> None:
        """A bare 500 (the app raised before answering)."""
        body = b"Internal Server Error"
        self.status = "500 INTERNAL SERVER ERROR"
        self.headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        self.write(body)


class _BindError(Exception):
    """An ``OSError`` of binding the server's socket, carried past Werkzeug's handler."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class _Server(ThreadedWSGIServer):
    """Werkzeug's threaded server, knowing its open connections and their idle timeout."""

    daemon_threads = True

    def __init__(
        self,
        host: str,
        port: int,
        app: Any,
        keepalive_timeout: float = KEEPALIVE_TIMEOUT,
        ssl_context: Any = None,
    ) -> None:
        super().__init__(host, port, app, handler=_Handler, ssl_context=ssl_context)
        self.keepalive_timeout = keepalive_timeout
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.accepted = 0

    def server_bind(self) -> None:
        # Werkzeug prints an OSError of binding and calls sys.exit(1) (a SystemExit out of
        # LocalXNAT(port=...).start()): it travels past that as a _BindError instead
        try:
            super().server_bind()
        except OSError as exc:
            raise _BindError(exc) from exc

    def opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.add(connection)
            self.accepted += 1

    def closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.discard(connection)

    def open_connections(self) -> list[socket.socket]:
        with self._lock:
            return list(self._open)


class BackgroundServer:
    """The threaded HTTP/1.1 server serving ``app`` on ``host:port`` (0 = a free port).

    ``keepalive_timeout`` is how long (seconds) an idle connection stays open.
    """

    def __init__(
        self,
        app: XNATApp,
        host: str = "127.0.0.1",
        port: int = 0,
        keepalive_timeout: float = KEEPALIVE_TIMEOUT,
    ) -> None:
        self.app = app
        try:
            self._server = _Server(host, port, app, keepalive_timeout)
        except _BindError as exc:  # the OSError, naming the address (port in use ...)
            error = exc.error
            raise OSError(error.errno, f"{error.strerror} ({host}:{port})") from error
        self._thread: threading.Thread | None = None

    @property
    def connections(self) -> int:
        """How many client connections are open now."""
        return len(self._server.open_connections())

    @property
    def accepted(self) -> int:
        """How many client connections have been accepted since the start."""
        return self._server.accepted

    @property
    def host(self) -> str:
        """The bound host."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="xnat-local-server", daemon=True
        )
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (or KeyboardInterrupt)."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving, close the socket and every open connection (a client's pooled
        connection then finds the server gone, as after a restart)."""
        self._server.shutdown()
        self._server.server_close()
        for connection in self._server.open_connections():
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
