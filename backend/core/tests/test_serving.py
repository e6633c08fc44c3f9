"""Which handler serves what (`product_importer.asgi`, `core.wsgi_bridge`).

Most requests go to Django's WSGI handler in a thread of the bridge's pool; an upload and the
export go to Django's ASGI handler; the live job stream to its own ASGI app, holding no thread.
Django says which of its handlers took a request (`request_started`'s sender): the tests call
the ASGI application in this process, as uvicorn would, and listen. The live server (uvicorn, as
`make run` starts it) shows the rest: chunked bodies reach the WSGI handler whole, and a normal
request is answered while more streams are open than the pool has threads.
"""

import asyncio
import http.client
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from rest_framework.authtoken.models import Token

from jobs.models import Job
from products.models import Product
from products.tests.factories import make_product

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def token(user: Any) -> str:
    key: str = Token.objects.get_or_create(user=user)[0].key
    return key


@pytest.fixture
def handlers() -> Iterator[list[tuple[type, str]]]:
    """(handler class, thread name) of each request Django starts while the test runs."""
    seen: list[tuple[type, str]] = []

    def started(sender: type, **kwargs: object) -> None:
        seen.append((sender, threading.current_thread().name))

    request_started.connect(started, dispatch_uid="test_serving")
    yield seen
    request_started.disconnect(dispatch_uid="test_serving")


def call(
    method: str, path: str, token: str, body: bytes = b"", headers: list[Any] | None = None
) -> tuple[int, bytes]:
    """One request through the ASGI application, as uvicorn hands it on; (status, body)."""
    from product_importer.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Token {token}".encode()),
            (b"accept", b"application/json"),
            *(headers or []),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    answer: dict[str, Any] = {"body": b""}

    async def run() -> None:
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # the client stays until the answer is sent
            raise AssertionError

        async def send(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            else:
                answer["body"] += message.get("body", b"")

        await application(scope, receive, send)

    asyncio.run(run())
    return answer["status"], answer["body"]


def test_an_api_request_is_served_by_django_wsgi_in_a_pool_thread(token, handlers):
    product = make_product(name="Served")

    status, body = call("GET", f"/api/products/{product.pk}/", token)

    assert status == 200
    assert json.loads(body)["name"] == "Served"
    assert len(handlers) == 1
    handler, thread = handlers[0]
    assert handler is WSGIHandler
    assert thread.startswith("WSGI")  # a2wsgi's pool


def test_a_write_with_its_json_body_goes_through_wsgi(token, handlers):
    status, body = call(
        "POST",
        "/api/products/",
        token,
        json.dumps({"name": "Written", "sku": "bridge-1"}).encode(),
        [(b"content-type", b"application/json")],
    )

    assert status == 201, body
    assert Product.objects.get(sku="bridge-1").name == "Written"
    assert [handler for handler, _ in handlers] == [WSGIHandler]


def test_the_export_is_served_by_django_asgi(token, handlers):
    make_product(sku="exported-1")

    status, body = call("GET", "/api/products/export/", token)

    assert status == 200
    assert b"exported-1" in body
    assert [handler for handler, _ in handlers] == [ASGIHandler]


def test_an_upload_is_served_by_django_asgi(token, handlers):
    boundary = "serving-test"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\nnot a catalog\r\n--{boundary}--\r\n"
    ).encode()

    status, answer = call(
        "POST",
        "/api/products/upload/",
        token,
        body,
        [
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    )

    assert status == 400, answer
    assert json.loads(answer) == {"file": ["'a.txt' is not a .csv or .csv.gz file."]}
    assert [handler for handler, _ in handlers] == [ASGIHandler]


def test_a_chunked_json_body_reaches_the_wsgi_handler_whole(token, live_server_url):
    """WSGI reads a body by its Content-Length: the bridge gives a chunked one its length."""
    address = urlsplit(live_server_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    long = "Chunked " + "x" * 5000
    payload = json.dumps({"name": "Chunked", "sku": "chunked-1", "description": long}).encode()
    connection.putrequest("POST", "/api/products/")
    connection.putheader("Authorization", f"Token {token}")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    for start in range(0, len(payload), 1000):
        piece = payload[start : start + 1000]
        connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    connection.send(b"0\r\n\r\n")
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()

    assert response.status == 201, answer
    assert answer["sku"] == "chunked-1"
    assert Product.objects.get(sku="chunked-1").description == long


def test_requests_are_answered_while_more_streams_are_open_than_threads(token, live_server_url):
    """The live job stream holds none of the WSGI pool's threads (WEB_THREADS per process)."""
    job = Job.objects.create(kind=Job.Kind.IMPORT)  # never queued: it stays PENDING
    headers = {"Authorization": f"Token {token}"}
    url = f"{live_server_url}/api/job/{job.pk}/events/"
    streams = []
    try:
        for _ in range(settings.WEB_THREADS + 4):
            stream = requests.get(url, headers=headers, stream=True, timeout=30)
            assert stream.status_code == 200
            assert next(stream.iter_lines()).startswith(b"retry:")  # the stream is open
            streams.append(stream)

        response = requests.get(f"{live_server_url}/api/products/", headers=headers, timeout=5)
    finally:
        for stream in streams:
            stream.close()

    assert response.status_code == 200
    assert response.json()["results"] == []
