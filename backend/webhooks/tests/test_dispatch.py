"""The dispatcher under load and failure: many deliveries, a silent receiver, several dispatchers
at once, and a worker that died holding deliveries. Against the real worker and a real receiver."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from devstack.processes import stop_process, worker_command
from webhooks import dispatch, load, waking
from webhooks.models import Delivery, Event, Webhook
from webhooks.services import emit_event

from .helpers import Receiver, create_product, subscribe, wait_for_deliveries

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A URL whose server accepts connections and never answers."""
    held: list[socket.socket] = []
    server = socket.create_server(("127.0.0.1", 0), backlog=64)

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/silent"
    server.close()
    for connection_ in held:
        connection_.close()


def test_a_silent_webhook_does_not_hold_up_the_others(api, worker, receiver, silent_url):
    first, second = (subscribe(api, receiver.url(p), ["product.created"]) for p in ("/a", "/b"))
    silent = subscribe(api, silent_url, ["product.created"])

    for n in range(20):
        create_product(api, f"SKU-{n}")
    receiver.wait_for(20, "/a")
    receiver.wait_for(20, "/b")
    answered = wait_for_deliveries(40, webhook_id__in=[first["id"], second["id"]])
    silent_attempts = wait_for_deliveries(20, webhook_id=silent["id"])

    assert {d.status for d in answered} == {"succeeded"}
    # Every answered delivery was made before the silent URL's first attempt gave up.
    first_silence = min(d.last_attempt_at for d in silent_attempts if d.last_attempt_at)
    assert max(d.last_attempt_at for d in answered if d.last_attempt_at) < first_silence
    assert {d.status for d in silent_attempts} == {"failed"}
    assert Webhook.objects.get(pk=silent["id"]).consecutive_failures >= 3  # then disabled
    assert len({r.headers["webhook-id"] for r in receiver.requests("/a")}) == 20


def test_dispatchers_running_at_once_send_each_delivery_once(receiver: Receiver):
    """Two dispatchers here (and the worker's, if a retry of an earlier test wakes it) share 300
    deliveries; none is sent twice, because each claims its own with SKIP LOCKED."""
    for path in ("/a", "/b", "/c"):
        Webhook.objects.create(url=receiver.url(path), events=["product.updated"])
    # As if a dispatcher were already running: the writes below queue none.
    waking.broker().set(waking.RUNNING_KEY, 1, ex=60)
    with transaction.atomic():
        for n in range(100):
            emit_event(event_type="product.updated", data={"n": n})
    waking.wake.flush()  # its wake, which finds the key set, before the dispatchers end

    def run() -> None:
        dispatch.Dispatcher().run()
        connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    requests = receiver.wait_for(300)
    assert Counter(r.path for r in requests) == {"/a": 100, "/b": 100, "/c": 100}
    assert len({(r.path, r.headers["webhook-id"]) for r in requests}) == 300
    assert {(d.status, d.attempts) for d in wait_for_deliveries(300)} == {("succeeded", 1)}
    assert not waking.broker().exists(waking.RUNNING_KEY)


def test_a_webhook_gets_the_events_of_changes_made_after_it_was_created(receiver: Receiver):
    Webhook.objects.create(url=receiver.url("/old"), events=["product.updated"])
    waking.broker().set(waking.RUNNING_KEY, 1, ex=60)  # events wait for the run below
    with transaction.atomic():
        emit_event(event_type="product.updated", data={"n": 1})
    Webhook.objects.create(url=receiver.url("/new"), events=["product.updated"])
    with transaction.atomic():
        emit_event(event_type="product.updated", data={"n": 2})
    waking.wake.flush()

    dispatch.Dispatcher().run()

    sent = sorted((r.path, json.loads(r.body)["data"]["n"]) for r in receiver.wait_for(3))
    assert sent == [("/new", 2), ("/old", 1), ("/old", 2)]
    assert not Event.objects.filter(fanned_out=False).exists()
    assert Event.objects.count() == 2


def test_a_write_in_a_process_that_ends_at_once_still_wakes_a_dispatcher(
    worker, receiver, subprocess_env
):
    """The wake runs in a thread after the commit; a process that exits first makes it then."""
    Webhook.objects.create(url=receiver.url(), events=["import.completed"])
    script = (
        "import django; django.setup()\n"
        "from django.db import transaction\n"
        "from webhooks import waking\n"
        "from webhooks.services import emit_event\n"
        "waking.wake.started = True  # as if its thread were too slow: only the exit wakes\n"
        "with transaction.atomic():\n"
        "    emit_event(event_type='import.completed', data={'id': 7})\n"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env=subprocess_env,
        check=True,
        timeout=60,
    )

    [request] = receiver.wait_for(1, timeout=30)
    assert json.loads(request.body)["data"] == {"id": 7}


def test_deliveries_held_by_a_dead_worker_are_sent_when_a_worker_starts(
    worker, receiver, subprocess_env
):
    webhook = Webhook.objects.create(url=receiver.url(), events=["product.created"])
    # What a dispatcher that died leaves behind: a pending delivery whose hold has lapsed, an
    # event not yet made into deliveries, and no dispatcher queued to send them.
    left = Event.objects.create(
        type="product.created",
        message_id="msg_left_behind",
        body='{"type":"product.created","timestamp":"2026-01-01T00:00:00Z","data":{}}',
        fanned_out=True,
    )
    Delivery.objects.create(webhook=webhook, event=left, next_attempt_at=timezone.now())
    Event.objects.create(type="product.created", message_id="msg_new", body="{}")

    process = subprocess.Popen(
        worker_command(concurrency=1, log_level="WARNING", queues="webhooks"),
        cwd=Path(__file__).resolve().parents[2],
        env=subprocess_env,
    )
    try:
        requests = receiver.wait_for(2, timeout=60)
    finally:
        stop_process(process)

    assert sorted(r.headers["webhook-id"] for r in requests) == ["msg_left_behind", "msg_new"]
    assert {d.status for d in wait_for_deliveries(2)} == {"succeeded"}


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="the CPU gauge reads Linux's")
def test_the_dispatcher_holds_back_while_other_processes_keep_the_cpus_busy(settings):
    settings.WEBHOOK_YIELD_ABOVE_CPU = 50
    settings.WEBHOOK_MAX_DEFER = 1
    dispatcher = dispatch.Dispatcher()
    spin = f"import time\nwhile time.time() < {time.time() + 3}: pass"
    spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(os.cpu_count() or 1)]
    try:
        time.sleep(0.8)
        assert dispatcher.yielding()  # every CPU busy: new attempts wait
        time.sleep(1.2)
        assert dispatcher.gauge.busy() > 0.5
        assert not dispatcher.yielding()  # waited WEBHOOK_MAX_DEFER already: it sends regardless
    finally:
        for spinner in spinners:
            spinner.wait(timeout=10)
    deadline = time.monotonic() + 10
    while dispatcher.gauge.busy() * 100 > settings.WEBHOOK_YIELD_ABOVE_CPU:
        assert time.monotonic() < deadline, dispatcher.gauge.busy()
        time.sleep(0.2)
    assert not dispatcher.yielding()
    assert dispatcher.deferred_since is None  # calm again: the next busy spell may wait anew


def test_the_dispatcher_holds_back_during_a_burst_of_writes(settings, receiver: Receiver):
    """A burst of writes may leave the CPUs half idle, waiting on the disk; the events' rate
    tells it all the same."""
    settings.WEBHOOK_YIELD_ABOVE_EVENTS = 20
    Webhook.objects.create(url=receiver.url(), events=["product.updated"])
    waking.broker().set(waking.RUNNING_KEY, 1, ex=60)  # the writes below queue no dispatcher
    dispatcher = dispatch.Dispatcher()
    assert not dispatcher.yielding()
    woken = load.EventRate()  # first asked after the writes, as by a dispatcher they woke

    written, started = 0, time.monotonic()
    while time.monotonic() - started < 1.5:  # a burst: each write its own transaction
        with transaction.atomic():
            emit_event(event_type="product.updated", data={"n": written})
        written += 1
        dispatcher.yielding()  # as its loop asks
    assert written / 1.5 > 40, written  # the burst was one
    assert woken.above(20)  # at once: no earlier count to start from
    assert dispatcher.events.above(20)
    assert dispatcher.yielding()

    deadline = time.monotonic() + 10
    while dispatcher.yielding():  # the writes have stopped
        assert time.monotonic() < deadline, dispatcher.events.count
        time.sleep(0.1)
    assert dispatcher.deferred_since is None
    waking.wake.flush()
    waking.release()
