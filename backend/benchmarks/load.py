"""Concurrent clients for the API benchmarks: a mix of requests, their latencies by label.

Each client is a process of its own (so clients never share a GIL) and opens a new connection
for every request, as independent users do. A client cycles through the plan, a list of
`Request`s, from its own starting point, until the phase's stop event is set or its deadline
passes, and sends back one `Sample` per request.
"""

import http.client
import json
import multiprocessing
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from urllib.parse import urlencode


@dataclass(frozen=True)
class Request:
    label: str
    method: str = "GET"
    params: dict[str, str] = field(default_factory=dict)
    path: str = "/api/products/"
    body: dict[str, object] | None = None
    # Statuses that count as answers (a 409 for a write to a row being imported, say).
    expected: frozenset[int] = frozenset({200})

    def target(self) -> str:
        return f"{self.path}?{urlencode(self.params)}" if self.params else self.path


@dataclass(frozen=True)
class Sample:
    label: str
    status: int
    ms: float
    expected: bool  # the status is one of the request's `expected`
    catching_up: bool  # the answer said the search was catching up


def send(port: int, token: str, request: Request) -> Sample:
    """One request on a new connection; its status and latency in ms."""
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    body = None
    if request.body is not None:
        body = json.dumps(request.body)
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(request.method, request.target(), body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        status, content = 0, b""
    finally:
        connection.close()
    ms = (time.perf_counter() - started) * 1000
    catching_up = b'"search_catching_up":true' in content
    return Sample(request.label, status, ms, status in request.expected, catching_up)


def _client(
    port: int,
    token: str,
    plan: list[Request],
    start: int,
    stop: Event,
    deadline: float,
    results: "multiprocessing.Queue[list[Sample]]",
) -> None:
    samples = []
    k = start
    while not stop.is_set() and time.time() < deadline:
        samples.append(send(port, token, plan[k % len(plan)]))
        k += 1
    results.put(samples)


class Clients:
    """`count` client processes sending `plan` until `stop()` or `seconds` have passed."""

    def __init__(self, port: int, token: str, plan: list[Request], count: int, seconds: float):
        context = multiprocessing.get_context("fork")
        self._stop = context.Event()
        self._results: multiprocessing.Queue[list[Sample]] = context.Queue()
        deadline = time.time() + seconds
        spacing = max(1, len(plan) // count)
        self._processes = [
            context.Process(
                target=_client,
                args=(port, token, plan, k * spacing, self._stop, deadline, self._results),
                daemon=True,
            )
            for k in range(count)
        ]
        for process in self._processes:
            process.start()

    def stop(self) -> None:
        self._stop.set()

    def samples(self) -> list[Sample]:
        """Wait for every client to end (at its deadline, or after `stop()`); all their samples."""
        collected = [sample for _ in self._processes for sample in self._results.get()]
        for process in self._processes:
            process.join()
        return collected


def timed(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str],
    body: str | None = None,
) -> float:
    """One request over `connection`, answered 200; its latency in ms."""
    started = time.perf_counter()
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    latency = (time.perf_counter() - started) * 1000
    assert response.status == 200, (method, path, response.status)
    return latency


def percentile(values: list[float], p: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


@dataclass(frozen=True)
class Summary:
    label: str
    count: int
    p50: float
    p95: float
    worst: float
    statuses: dict[int, int]
    unexpected: int  # answers with a status the request did not expect
    catching_up: int


def summarize(samples: Iterable[Sample]) -> dict[str, Summary]:
    by_label: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_label[sample.label].append(sample)
    summaries = {}
    for label, group in by_label.items():
        latencies = [sample.ms for sample in group]
        statuses: dict[int, int] = defaultdict(int)
        for sample in group:
            statuses[sample.status] += 1
        summaries[label] = Summary(
            label=label,
            count=len(group),
            p50=percentile(latencies, 50),
            p95=percentile(latencies, 95),
            worst=max(latencies),
            statuses=dict(statuses),
            unexpected=sum(not sample.expected for sample in group),
            catching_up=sum(sample.catching_up for sample in group),
        )
    return summaries
