"""What the webhooks tests share: a real HTTP receiver on 127.0.0.1 that records what it gets and
answers as told, waiting for deliveries, and a webhook and a product made through the API."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from webhooks.models import Delivery


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"thanks"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Replies per path: each request takes the next reply of its path's script; the last one
    repeats. The default is 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.scripts: dict[str, list[Reply]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    script = receiver.scripts.get(self.path) or [Reply()]
                    reply = script.pop(0) if len(script) > 1 else script[0]
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the dispatcher opens many connections at once

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        with self.lock:
            self.scripts[path] = list(replies)

    def requests(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if path is None or r.path == path]

    def wait_for(self, count: int, path: str | None = None, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests(path)) < count:
            assert time.monotonic() < deadline, f"{len(self.requests(path))} of {count} requests"
            time.sleep(0.05)
        return self.requests(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for_deliveries(count: int, timeout: float = 30, **filters: Any) -> list[Delivery]:
    """Wait until `count` deliveries matching `filters` have finished (succeeded or failed)."""
    deadline = time.monotonic() + timeout
    while True:
        done = list(
            Delivery.objects.filter(**filters)
            .select_related("event")
            .exclude(status=Delivery.Status.PENDING)
            .order_by("id")
        )
        if len(done) >= count:
            return done
        assert time.monotonic() < deadline, f"{len(done)} of {count} deliveries finished"
        time.sleep(0.1)


def subscribe(api, url: str, events: list[str], **fields: Any) -> dict[str, Any]:
    response = api.post("/api/webhooks/", {"url": url, "events": events, **fields}, format="json")
    assert response.status_code == 201, response.json()
    body: dict[str, Any] = response.json()
    return body


def create_product(api, sku: str = "LAMP-1") -> dict[str, Any]:
    response = api.post("/api/products/", {"name": "Desk Lamp", "sku": sku}, format="json")
    assert response.status_code == 201, response.json()
    body: dict[str, Any] = response.json()
    return body
