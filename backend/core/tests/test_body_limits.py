"""The body limits as a client meets them over HTTP, measured as bytes on disk.

A web server of the test's own (uvicorn, as `make run` starts it) runs with
MAX_UPLOAD_BYTES=1,000,000, its temporary files (TMPDIR: the request bodies Django spools and the
upload files it parses them into) and MEDIA_ROOT in folders the test watches. Django spools
anything past 64 KiB there (`core.tests.spooling_settings`), so whatever it takes in of a body
shows on disk. While a request runs, a sampler adds up every millisecond the sizes of the files
in those folders and of the files there that the server holds open (deleted ones too: temporary
files are unlinked at once). The client is a raw socket: it chooses Content-Length or chunked,
reads while it sends, and can stop after the headers.
"""

import json
import os
import select
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http.client import HTTPResponse
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from devstack.processes import web_server
from jobs.models import Job
from jobs.tests.helpers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

BACKEND_DIR = Path(__file__).resolve().parents[2]
UPLOAD = "/api/products/upload/"
LIMIT = 1_000_000  # the server's MAX_UPLOAD_BYTES
BODY_LIMIT = 1024**2  # its MAX_BODY_BYTES, the default
BIG = 30_000_000
CHUNK = 64 * 1024
BOUNDARY = "body-limits-test"


@dataclass
class Server:
    port: int
    pid: int
    tmp: Path
    media: Path


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    sent: int  # body bytes the client had sent when the answer came (or sending failed)


@pytest.fixture(scope="module")
def server(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("body-limits")
    tmp, media = folder / "tmp", folder / "media"
    tmp.mkdir()
    media.mkdir()
    database = urlsplit(os.environ["DATABASE_URL"])
    env = os.environ | {
        "DATABASE_URL": urlunsplit(database._replace(path=f"/{connection.settings_dict['NAME']}")),
        "DJANGO_SETTINGS_MODULE": "core.tests.spooling_settings",
        "MAX_UPLOAD_BYTES": str(LIMIT),
        "TMPDIR": str(tmp),
        "MEDIA_ROOT": str(media),
    }
    with web_server(env, BACKEND_DIR) as (port, process):
        yield Server(port, process.pid, tmp, media)


@pytest.fixture
def token(user) -> str:
    key: str = Token.objects.get_or_create(user=user)[0].key
    return key


class DiskWatch:
    """The most bytes the server's folders held while the `with` block ran, beyond what they
    held at its start: files in them, and files there the server has open, deleted or not."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "DiskWatch":
        self._start = self.bytes_now()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.05)  # the server's last steps after its answer
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.bytes_now() - self._start)
            time.sleep(0.001)

    def bytes_now(self) -> int:
        roots = (str(self.server.tmp), str(self.server.media))
        sizes: dict[tuple[int, int], int] = {}
        for fd in Path(f"/proc/{self.server.pid}/fd").iterdir():
            try:
                if os.readlink(fd).startswith(roots):
                    stat = fd.stat()  # the file itself, even once unlinked
                    sizes[stat.st_dev, stat.st_ino] = stat.st_size
            except OSError:
                continue  # closed meanwhile
        for root in (self.server.tmp, self.server.media):
            for path in root.rglob("*"):
                try:
                    stat = path.stat()
                except OSError:
                    continue
                if path.is_file():
                    sizes[stat.st_dev, stat.st_ino] = stat.st_size
        return sum(sizes.values())


def multipart(size: int, file_name: str = "catalog.csv") -> Iterator[bytes]:
    """A multipart body of `size` bytes: one file field holding a CSV."""
    head = (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        "Content-Type: text/csv\r\n\r\nsku,name\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    yield head
    block = (b"sku-000000,A product\n" * (CHUNK // 21 + 1))[:CHUNK]
    left = size - len(head) - len(tail)
    while left > 0:
        yield block[: min(CHUNK, left)]
        left -= CHUNK
    yield tail


def json_body(size: int) -> Iterator[bytes]:
    """A JSON object of `size` bytes: one long string."""
    yield b'{"name": "'
    left = size - 12
    while left > 0:
        yield b"x" * min(CHUNK, left)
        left -= CHUNK
    yield b'"}'


def post(
    server: Server,
    path: str,
    body: Iterable[bytes] = (),
    *,
    length: int | None,
    headers: dict[str, str],
) -> Answer:
    """POST `body` (with a Content-Length of `length`, or chunked if None) at about 30 MB/s,
    stopping as soon as the server answers or stops taking bytes; the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(
            f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
        )
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sent = 0
        finished = True
        for chunk in body:
            if select.select([sock], [], [], 0)[0]:  # the answer is in
                finished = False
                break
            try:
                sock.sendall(chunk if length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                finished = False
                break
            sent += len(chunk)
            time.sleep(0.002)
        if finished and length is None:
            sock.sendall(b"0\r\n\r\n")
        response = HTTPResponse(sock)
        response.begin()
        return Answer(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            json.loads(response.read()),
            sent,
        )


def upload_headers(token: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    if token:
        headers["Authorization"] = f"Token {token}"
    return headers


def left_on_disk(server: Server) -> list[Path]:
    return [p for root in (server.tmp, server.media) for p in root.rglob("*") if p.is_file()]


def test_the_watch_sees_what_an_accepted_body_puts_on_disk(server, token):
    """The control: a body under the limit is spooled, then parsed into an upload file."""
    with DiskWatch(server) as disk:
        answer = post(
            server,
            UPLOAD,
            multipart(900_000, "catalog.txt"),
            length=900_000,
            headers=upload_headers(token),
        )
    # Through the guard, authenticated, parsed: the view refuses the file's kind.
    assert answer.status == 400, answer.body
    assert answer.body == {"file": ["'catalog.txt' is not a .csv or .csv.gz file."]}
    assert answer.sent == 900_000
    assert disk.peak >= 900_000
    assert left_on_disk(server) == []


def test_a_chunked_upload_is_refused_once_past_the_limit_and_leaves_nothing(server, token):
    with DiskWatch(server) as disk:
        answer = post(server, UPLOAD, multipart(BIG), length=None, headers=upload_headers(token))
    assert answer.status == 413
    assert answer.body == {"detail": "The upload is larger than the limit of 1,000,000 bytes."}
    assert answer.headers["connection"] == "close"
    assert answer.sent < BIG // 4, "the answer came only after most of the body"
    assert disk.peak <= LIMIT, f"{disk.peak:,} bytes on disk"
    assert left_on_disk(server) == []
    assert not Job.objects.exists()


def test_an_upload_declaring_more_than_the_limit_is_refused_before_its_body(server, token):
    with DiskWatch(server) as disk:
        answer = post(server, UPLOAD, multipart(BIG), length=BIG, headers=upload_headers(token))
    assert answer.status == 413
    assert answer.body == {"detail": "The upload is 30,000,000 bytes; the limit is 1,000,000."}
    assert answer.sent < LIMIT
    assert disk.peak == 0
    assert left_on_disk(server) == []
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("credentials", "detail"),
    [
        ({}, "Authentication credentials were not provided."),
        ({"Authorization": "Token 0123456789abcdef"}, "Invalid token."),
        (
            {"Cookie": "sessionid=forged-session-key"},
            "Authentication credentials were not provided.",
        ),
    ],
    ids=["anonymous", "bad-token", "forged-session"],
)
def test_an_upload_not_signed_in_is_refused_after_its_headers_alone(server, credentials, detail):
    with DiskWatch(server) as disk:
        # The headers announce 30 MB; not a byte of it is sent.
        answer = post(server, UPLOAD, length=BIG, headers=upload_headers() | credentials)
    assert answer.status == 401
    assert answer.body == {"detail": detail}
    assert answer.headers["www-authenticate"] == "Token"
    assert answer.sent == 0
    assert disk.peak == 0


def test_an_upload_with_a_session_passes_the_guard(server, user):
    browser = Client()
    browser.force_login(user)
    csrf = "k" * 32
    headers = upload_headers() | {
        "Cookie": f"sessionid={browser.cookies['sessionid'].value}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
    }
    answer = post(server, UPLOAD, multipart(10_000, "notes.txt"), length=10_000, headers=headers)
    assert answer.status == 400, answer.body  # past the guard and the CSRF check, to the view
    assert answer.body == {"file": ["'notes.txt' is not a .csv or .csv.gz file."]}


@pytest.mark.parametrize("length", [None, 5_000_000], ids=["chunked", "content-length"])
def test_a_json_body_over_its_limit_is_a_413_in_json(server, token, length):
    with DiskWatch(server) as disk:
        answer = post(
            server,
            "/api/products/",
            json_body(5_000_000),
            length=length,
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
    assert answer.status == 413
    assert answer.body == {
        "detail": (
            "The request body is larger than the limit of 1,048,576 bytes."
            if length is None
            else "The request body is 5,000,000 bytes; the limit is 1,048,576."
        )
    }
    assert disk.peak <= BODY_LIMIT
    assert left_on_disk(server) == []


def test_json_nested_too_deep_is_a_400_in_json(server, token):
    response = requests.post(
        f"http://127.0.0.1:{server.port}/api/products/",
        data=b"[" * 100_000 + b"]" * 100_000,
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - arrays and objects nest more than 32 levels deep."
    }


def test_an_upload_under_the_limit_goes_through_the_guard_and_lands(
    api, token, worker, live_server_url
):
    response = requests.post(
        f"{live_server_url}{UPLOAD}",
        files={"file": ("catalog.csv", b"sku,name\nguarded-1,Through the guard\n")},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    job = wait_for(api, response.json())
    assert (job["status"], job["created_count"]) == ("COMPLETED", 1)
