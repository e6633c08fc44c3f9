"""The dispatcher: sends pending deliveries, records each attempt, schedules the retries.

Events and deliveries are rows: `emit_event` writes an event in the transaction of the change,
and a dispatcher makes one delivery of it for each enabled webhook subscribed to its type. A
dispatcher is one run of the Celery task `webhooks.dispatch` on the `webhooks` queue, so an
import never delays it. It takes new events and due deliveries in batches (`FOR UPDATE SKIP
LOCKED`, so dispatchers on several workers share the work), sends from a pool of threads over
kept-alive connections, at most `PER_WEBHOOK` at a time to one webhook (one while a silent URL
is probed), and writes the outcomes in batches. While other processes keep the CPUs busy it
takes and starts nothing new, for a while (`Dispatcher.yielding`). It runs until nothing has
been due for a second, then schedules itself for the next retry.

Why not one task per delivery: a Celery task costs about 2 ms of CPU before it does anything,
and one delivery through the ORM and requests about 5 ms more. 1,000 updates to 10 webhooks
made the API twice as slow on 2 CPUs (`make bench-webhooks`). Here a delivery costs 0.7 to
1.0 ms of CPU, 0.08 ms of it in PostgreSQL; the request only inserts its event (one row, whatever
the number of webhooks), and a thread of its process then queues a dispatcher unless one is
queued or running (`wake`).

A claimed delivery's `next_attempt_at` is when the claim lapses (renewed while it is held): if
the worker dies, its deliveries are due again a minute later, for the next dispatcher to send
(a worker's start runs one). A receiver may then get an attempt twice, with the same
`webhook-id`, which Standard Webhooks receivers use to drop duplicates.
"""

import atexit
import functools
import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import F, Value
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from . import sender
from .guard import guarded_pool
from .models import Delivery, Webhook

logger = logging.getLogger(__name__)

SENDERS = 16  # requests in flight at once, over all webhooks
PER_WEBHOOK = 4  # requests in flight at once to one webhook
CLAIM_BATCH = 200
FAN_OUT_BATCH = 1000  # events made into deliveries at once
LEASE = 60.0  # seconds a claim lasts; renewed every third of it while held
POLL = 0.2  # seconds between looks for newly due deliveries
# Seconds a dispatcher waits for more before it ends: under a steady trickle of writes, one
# dispatcher keeps sending rather than each write queueing a new one.
LINGER = 1.0
FLUSH = 0.2  # seconds between writes of finished attempts
# Set while a dispatcher is queued or running: a write then queues no other.
RUNNING_KEY = "webhooks:dispatcher"
RUNNING_TTL = 300
# When the next dispatcher is scheduled (a Unix time), so retries do not schedule one each.
WAKE_KEY = "webhooks:dispatcher:wake"
# Celery's countdown is kept well below the broker's visibility timeout (6 h): on Redis, a task
# whose ETA lies beyond it is handed to a second worker while the first still holds it.
MAX_COUNTDOWN = 3600.0

# New events become deliveries: one for each enabled webhook subscribed to the type, if the
# webhook existed when the event happened.
FAN_OUT_SQL = """
    WITH new AS (
        SELECT id, type, created_at FROM webhooks_event
        WHERE NOT fanned_out ORDER BY id LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ), marked AS (
        UPDATE webhooks_event AS e SET fanned_out = true FROM new WHERE e.id = new.id
    )
    INSERT INTO webhooks_delivery (
        webhook_id, event_id, status, attempts, error, response_excerpt, created_at, updated_at,
        next_attempt_at
    )
    SELECT w.id, new.id, 'pending', 0, '', '', new.created_at, now(), now()
    FROM new JOIN webhooks_webhook AS w ON w.enabled
        AND w.events @> ARRAY[new.type]::varchar(40)[] AND w.created_at <= new.created_at
    ORDER BY new.id, w.id
"""
CLAIM_SQL = """
    WITH due AS (
        SELECT id FROM webhooks_delivery
        WHERE status = 'pending' AND next_attempt_at <= now() AND webhook_id <> ALL(%(busy)s)
        ORDER BY next_attempt_at, id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    UPDATE webhooks_delivery AS d
    SET next_attempt_at = now() + make_interval(secs => %(lease)s)
    FROM due, webhooks_event AS e WHERE d.id = due.id AND e.id = d.event_id
    RETURNING d.id, d.webhook_id, e.message_id, e.body, d.attempts
"""
TARGETS_SQL = """
    SELECT id, url, secret, enabled, unreachable_since, unreachable_until, last_delivery_at,
        last_error
    FROM webhooks_webhook WHERE id = ANY(%s)
"""
RENEW_SQL = """
    UPDATE webhooks_delivery SET next_attempt_at = now() + make_interval(secs => %s)
    WHERE id = ANY(%s) AND status = 'pending'
"""
# Attempts not sent (a paused URL, a disabled webhook) keep the last real attempt's answer.
RECORD_SQL = """
    UPDATE webhooks_delivery AS d SET
        status = v.status, attempts = v.attempts, error = v.error,
        next_attempt_at = v.next_attempt_at, updated_at = v.at,
        last_attempt_at = CASE WHEN v.sent THEN v.at ELSE d.last_attempt_at END,
        status_code = CASE WHEN v.sent THEN v.status_code ELSE d.status_code END,
        duration_ms = CASE WHEN v.sent THEN v.duration_ms ELSE d.duration_ms END,
        response_excerpt = CASE WHEN v.sent THEN v.excerpt ELSE d.response_excerpt END
    FROM unnest(
        %s::bigint[], %s::varchar[], %s::int[], %s::text[], %s::timestamptz[], %s::timestamptz[],
        %s::bool[], %s::int[], %s::int[], %s::text[]
    ) AS v(
        id, status, attempts, error, next_attempt_at, at, sent, status_code, duration_ms, excerpt
    )
    WHERE d.id = v.id
"""
# Of the newest events, those recorded since a time (enough of them to tell a burst).
RECENT_EVENTS_SQL = """
    SELECT count(*) FROM (
        SELECT created_at FROM webhooks_event ORDER BY id DESC LIMIT %(limit)s
    ) AS newest WHERE created_at > %(since)s
"""
NEXT_DUE_SQL = """
    SELECT least(
        (SELECT min(next_attempt_at) FROM webhooks_delivery WHERE status = 'pending'),
        (SELECT min(created_at) FROM webhooks_event WHERE NOT fanned_out)
    )
"""


@functools.cache
def broker() -> redis.Redis:
    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2
    )


def wake_now() -> None:
    """Make sure a dispatcher comes (after a write with events commits): queues one unless one
    is queued or running. With the broker down, the events wait for the next one."""
    try:
        if not broker().set(RUNNING_KEY, 1, nx=True, ex=RUNNING_TTL):
            return
        queue_dispatcher(countdown=0)
    except (redis.RedisError, BrokerError, OSError) as exc:
        logger.warning("could not queue the webhook dispatcher: %s", exc)
        release()


class Waker:
    """`wake_now` from a thread of its own, so that a request does not wait for Redis. Writes
    that commit while it is at it share its next call (made after their commits, as `wake_now`
    requires): at most one every `PAUSE` seconds."""

    PAUSE = 0.05

    def __init__(self) -> None:
        self.reset()
        # A fork copies no thread (and perhaps a held lock): a child starts afresh.
        os.register_at_fork(after_in_child=self.reset)
        atexit.register(self.flush)

    def reset(self) -> None:
        self.wanted = threading.Event()
        self.calling = threading.Lock()
        self.starting = threading.Lock()
        self.started = False

    def __call__(self) -> None:
        if not self.started:
            with self.starting:
                if not self.started:
                    threading.Thread(target=self.loop, name="webhooks-waker", daemon=True).start()
                    self.started = True
        self.wanted.set()

    def loop(self) -> None:
        while True:
            self.wanted.wait()
            self.flush()
            time.sleep(self.PAUSE)

    def flush(self) -> None:
        """The wake wanted, if any, now (also at exit, which would cut the thread short)."""
        with self.calling:
            if self.wanted.is_set():
                self.wanted.clear()
                wake_now()


# What a write calls once it commits.
wake = Waker()


def release() -> None:
    """Let the next write queue a dispatcher."""
    try:
        broker().delete(RUNNING_KEY)
    except redis.RedisError as exc:  # it expires by itself
        logger.warning("could not reach the broker: %s", exc)


def queue_dispatcher(*, countdown: float) -> None:
    from .tasks import dispatch_deliveries

    dispatch_deliveries.apply_async(countdown=countdown, retry=False)


def schedule_wake() -> None:
    """Schedule a dispatcher for the earliest pending delivery, unless one comes by then."""
    with connection.cursor() as cursor:
        cursor.execute(NEXT_DUE_SQL)
        row = cursor.fetchone()
    due: datetime | None = row[0] if row else None
    if due is None:
        return
    countdown = min(max((due - timezone.now()).total_seconds(), 0.0), MAX_COUNTDOWN)
    at = time.time() + countdown
    try:
        scheduled = broker().get(WAKE_KEY)
        if scheduled is not None and time.time() < float(scheduled) <= at + 0.05:
            return
        broker().set(WAKE_KEY, at, ex=int(MAX_COUNTDOWN) * 2)
        queue_dispatcher(countdown=countdown)
    except (redis.RedisError, BrokerError, OSError) as exc:
        logger.warning("could not schedule the webhook dispatcher: %s", exc)


@contextmanager
def bookkeeping() -> Iterator[CursorWrapper]:
    """A transaction for the dispatcher's own writes, committed without waiting for the disk
    (a busy import waits on it less). A database crash may undo its last fraction of a second:
    the deliveries concerned are sent again, with the same `webhook-id`."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield cursor


class CpuGauge:
    """How busy the machine's CPUs are with work not this process's (0 to 1), averaged over about
    a second; from Linux's /proc/stat, so always 0 elsewhere."""

    def __init__(self) -> None:
        self.level: float | None = None
        self.last = self.read()

    @staticmethod
    def read() -> tuple[float, float] | None:
        """Since boot: (clock ticks of work by others, clock ticks of all CPUs)."""
        try:
            with open("/proc/stat") as stat:
                # user nice system idle iowait irq softirq
                ticks = [int(value) for value in stat.readline().split()[1:8]]
            per_second = os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError):
            return None
        own = os.times()
        busy = sum(ticks) - ticks[3] - ticks[4] - (own.user + own.system) * per_second
        return busy, sum(ticks)

    def busy(self) -> float:
        now = self.read()
        if now is None or self.last is None or now[1] - self.last[1] < 10:
            return self.level or 0.0
        sample = max(0.0, (now[0] - self.last[0]) / (now[1] - self.last[1]))
        self.last = now
        self.level = sample if self.level is None else self.level + 0.3 * (sample - self.level)
        return self.level


class EventRate:
    """Whether writes record more than some number of events a second: counts the events of the
    last POLL seconds by their own times, so that a dispatcher woken by a burst knows it within
    a fraction of a second (it sends meanwhile). The times are the writers' clocks: a dispatcher
    on a host whose clock runs ahead of theirs by that much sees fewer (the CPU gauge still
    counts)."""

    def __init__(self) -> None:
        self.count = 0  # events of the last POLL seconds when last counted (a few at most)
        self.counted_at: float | None = None

    def above(self, per_second: int) -> bool:
        limit = per_second * POLL
        now = time.monotonic()
        if self.counted_at is None or now - self.counted_at >= POLL:
            since = timezone.now() - timedelta(seconds=POLL)
            with connection.cursor() as cursor:
                cursor.execute(RECENT_EVENTS_SQL, {"limit": int(limit) + 1, "since": since})
                row = cursor.fetchone()
            self.count, self.counted_at = (int(row[0]) if row else 0), now
        return self.count > limit


@dataclass
class Claimed:
    id: int
    webhook_id: int
    message_id: str
    body: str
    attempts: int


@dataclass
class Target:
    """A webhook as the dispatcher sees it, with its deliveries in hand."""

    id: int
    url: str
    secret: str
    enabled: bool
    unreachable_since: datetime | None
    unreachable_until: datetime | None
    last_delivery_at: datetime | None
    last_error: str
    queue: deque[Claimed] = field(default_factory=deque)
    in_flight: int = 0

    def refresh(self, other: "Target") -> None:
        """What a user may have changed meanwhile. What this dispatcher learnt of the URL stays:
        its last attempts may not be written yet."""
        self.url, self.secret, self.enabled = other.url, other.secret, other.enabled

    def can_send(self) -> bool:
        # While a URL is known to be silent, one attempt at a time probes it.
        limit = 1 if self.unreachable_since is not None else PER_WEBHOOK
        return bool(self.queue) and self.in_flight < limit


@dataclass
class Finished:
    delivery: Claimed
    outcome: sender.Outcome
    at: datetime


class Dispatcher:
    def __init__(self) -> None:
        self.targets: dict[int, Target] = {}
        self.sending: dict[Future[sender.Outcome], Claimed] = {}
        self.finished: list[Finished] = []
        self.pool = guarded_pool(per_host=SENDERS)
        self.schedule: list[float] = settings.WEBHOOK_RETRY_SCHEDULE
        self.gauge = CpuGauge()
        self.events = EventRate()
        self.deferred_since: float | None = None

    def run(self) -> int:
        """Send until nothing has been due for LINGER seconds; returns the attempts made."""
        attempts = 0
        last_claim = last_flush = last_renew = last_work = time.monotonic()
        with ThreadPoolExecutor(SENDERS, thread_name_prefix="webhook") as threads:
            while True:
                now = time.monotonic()
                yielding = self.yielding()
                idle = not self.sending and not self.held()
                if not yielding and (idle or now - last_claim >= POLL):
                    last_claim = now
                    if self.claim():
                        last_work = now
                    elif idle:
                        attempts += self.flush()
                        if now - last_work < LINGER:
                            time.sleep(POLL)
                            continue
                        release()
                        # A write that found the key set before it was deleted has committed
                        # by now: this last look sees its events.
                        if not self.claim():
                            break
                if not yielding:
                    self.start(threads)
                elif not self.sending:
                    time.sleep(POLL)
                done, _ = wait(self.sending, timeout=POLL, return_when=FIRST_COMPLETED)
                for future in done:
                    self.done(self.sending.pop(future), outcome_of(future))
                now = time.monotonic()
                if now - last_flush >= FLUSH:
                    attempts += self.flush()
                    last_flush = now
                if now - last_renew >= LEASE / 3:
                    self.renew()
                    last_renew = now
        self.pool.clear()
        schedule_wake()
        return attempts

    def yielding(self) -> bool:
        """Whether to take and start nothing new: while the machine is crowded, so that
        deliveries do not slow the API and imports; but never more than WEBHOOK_MAX_DEFER
        seconds in a row (then it sends regardless, until the crowd is gone)."""
        if not self.crowded():
            self.deferred_since = None
            return False
        now = time.monotonic()
        if self.deferred_since is None:
            self.deferred_since = now
        return now - self.deferred_since < settings.WEBHOOK_MAX_DEFER

    def crowded(self) -> bool:
        """Whether other processes keep the CPUs busier than WEBHOOK_YIELD_ABOVE_CPU percent,
        or writes record more than WEBHOOK_YIELD_ABOVE_EVENTS events a second: a burst of API
        writes need not fill the CPUs (it may wait on the disk), and is slowed all the same."""
        if self.gauge.busy() * 100 > settings.WEBHOOK_YIELD_ABOVE_CPU:
            return True
        limit = settings.WEBHOOK_YIELD_ABOVE_EVENTS
        return limit > 0 and self.events.above(limit)

    def held(self) -> bool:
        return any(target.queue for target in self.targets.values())

    def claim(self) -> int:
        """Make deliveries of new events, then take the due ones (of webhooks with none in hand)."""
        busy = [target.id for target in self.targets.values() if target.queue]
        with bookkeeping() as cursor:
            cursor.execute(FAN_OUT_SQL, {"limit": FAN_OUT_BATCH})
            cursor.execute(CLAIM_SQL, {"busy": busy, "limit": CLAIM_BATCH, "lease": LEASE})
            claimed = [Claimed(*row) for row in cursor.fetchall()]
            if not claimed:
                return 0
            cursor.execute(TARGETS_SQL, [list({d.webhook_id for d in claimed})])
            for row in cursor.fetchall():
                fresh = Target(*row)
                target = self.targets.setdefault(fresh.id, fresh)
                target.refresh(fresh)
        for delivery in claimed:
            # A webhook deleted meanwhile took its deliveries with it.
            if delivery.webhook_id in self.targets:
                self.targets[delivery.webhook_id].queue.append(delivery)
        return len(claimed)

    def start(self, threads: ThreadPoolExecutor) -> None:
        """Send what the limits allow; record at once what is not to be sent."""
        for target in self.targets.values():
            while target.queue:
                unsent = self.not_sent(target)
                if unsent is not None:
                    self.done(target.queue.popleft(), unsent)
                    continue
                if not target.can_send():
                    break
                delivery = target.queue.popleft()
                target.in_flight += 1
                future = threads.submit(
                    sender.send,
                    self.pool,
                    url=target.url,
                    secret=target.secret,
                    message_id=delivery.message_id,
                    body=delivery.body,
                    timeout=settings.WEBHOOK_TIMEOUT,
                )
                self.sending[future] = delivery

    def not_sent(self, target: Target) -> sender.Outcome | None:
        if not target.enabled:
            return sender.Outcome(ok=False, sent=False, error="Not sent: the webhook is disabled.")
        now = timezone.now()
        if target.unreachable_until is not None and target.unreachable_until > now:
            return sender.Outcome(
                ok=False,
                sent=False,
                error=(
                    f"Not sent: the URL gave no answer to an attempt at "
                    f"{target.last_delivery_at or now:%H:%M:%S} UTC ({target.last_error}); "
                    "it is tried again after a pause."
                ),
            )
        return None

    def done(self, delivery: Claimed, outcome: sender.Outcome) -> None:
        """Note an attempt's outcome (written by the next flush) and what it says of the URL."""
        now = timezone.now()
        target = self.targets[delivery.webhook_id]
        if outcome.sent:
            target.in_flight -= 1
            target.last_delivery_at, target.last_error = now, outcome.error[:500]
            if outcome.answered:
                target.unreachable_since = target.unreachable_until = None
            else:
                # The pause grows with the outage (at least the first retry's delay), so a URL
                # that stays silent is probed less and less often.
                since = target.unreachable_since or now
                pause = max([*self.schedule[:1], (now - since).total_seconds()])
                target.unreachable_since = since
                target.unreachable_until = now + timedelta(seconds=min(pause, MAX_COUNTDOWN))
        self.finished.append(Finished(delivery, outcome, now))

    def flush(self) -> int:
        """Write the finished attempts: the deliveries, then each webhook's summary."""
        finished, self.finished = self.finished, []
        if not finished:
            return 0
        rows = [self.delivery_row(item) for item in finished]
        by_webhook: dict[int, list[Finished]] = {}
        for item in finished:
            by_webhook.setdefault(item.delivery.webhook_id, []).append(item)
        with bookkeeping() as cursor:
            cursor.execute(RECORD_SQL, [list(column) for column in zip(*rows, strict=True)])
            # In the order of their ids, as every dispatcher does: two never deadlock.
            for webhook_id, items in sorted(by_webhook.items()):
                self.record_on_webhook(self.targets[webhook_id], items)
        return len(finished)

    def retries(self, item: Finished) -> bool:
        target = self.targets[item.delivery.webhook_id]
        attempts = item.delivery.attempts + 1
        return not item.outcome.ok and target.enabled and attempts <= len(self.schedule)

    def delivery_row(self, item: Finished) -> tuple[Any, ...]:
        """The values RECORD_SQL writes for one attempt, in its order."""
        outcome, attempts = item.outcome, item.delivery.attempts + 1
        next_attempt_at = None
        if outcome.ok:
            status = Delivery.Status.SUCCEEDED
        elif self.retries(item):
            status = Delivery.Status.PENDING
            # Exponential backoff from the schedule, plus up to 20 % jitter so that the
            # deliveries of one burst do not all come back in the same second.
            delay = self.schedule[attempts - 1] * (1 + 0.2 * random.random())  # noqa: S311
            next_attempt_at = item.at + timedelta(seconds=delay)
        else:
            status = Delivery.Status.FAILED
        return (
            item.delivery.id,
            status,
            attempts,
            outcome.error,
            next_attempt_at,
            item.at,
            outcome.sent,
            outcome.status_code,
            outcome.duration_ms,
            outcome.response_excerpt,
        )

    def record_on_webhook(self, target: Target, items: list[Finished]) -> None:
        """The webhook's last attempt, its silence, and its count of failed deliveries."""
        fields: dict[str, Any] = {}
        sent = [item for item in items if item.outcome.sent]
        if sent:
            last = sent[-1]
            fields.update(
                last_status_code=last.outcome.status_code,
                last_response_time_ms=last.outcome.duration_ms,
                last_delivery_at=last.at,
                last_error=last.outcome.error[:500],
                unreachable_since=target.unreachable_since,
                unreachable_until=target.unreachable_until,
            )
        failed = _failures_after_last_success(items, self.retries)
        if any(item.outcome.ok for item in items):
            fields["consecutive_failures"] = Value(failed)
        elif failed and target.enabled:
            fields["consecutive_failures"] = F("consecutive_failures") + failed
        if not fields:
            return
        now = items[-1].at
        Webhook.objects.filter(pk=target.id).update(updated_at=now, **fields)
        if not failed:
            return
        limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
        error = next(item.outcome.error for item in reversed(items) if not item.outcome.ok)
        if Webhook.objects.filter(
            pk=target.id, enabled=True, consecutive_failures__gte=limit
        ).update(
            enabled=False,
            updated_at=now,
            disabled_reason=(
                f"Disabled on {now:%Y-%m-%d at %H:%M} UTC after {limit} deliveries in a row "
                f"failed every attempt. Last error: {error}"
            )[:500],
        ):
            target.enabled = False

    def renew(self) -> None:
        held = [d.id for t in self.targets.values() for d in t.queue]
        held += [d.id for d in self.sending.values()]
        if held:
            with bookkeeping() as cursor:
                cursor.execute(RENEW_SQL, [LEASE, held])


def outcome_of(future: "Future[sender.Outcome]") -> sender.Outcome:
    """The attempt's outcome; an error the sender did not expect costs one failed attempt, not
    the dispatcher (which would otherwise meet the same delivery again after each restart)."""
    try:
        return future.result()
    except Exception as exc:
        logger.exception("webhook attempt failed unexpectedly")
        return sender.Outcome(ok=False, error=f"The request failed: {exc}")


def _failures_after_last_success(
    items: Iterable[Finished], retries: Callable[[Finished], bool]
) -> int:
    """Deliveries that failed their last attempt, after the last success among `items`."""
    failed = 0
    for item in items:
        if item.outcome.ok:
            failed = 0
        elif not retries(item):
            failed += 1
    return failed
