"""The dispatcher: sends pending deliveries, records each attempt, schedules the retries.

Events and deliveries are rows: `emit_event` writes an event in the transaction of the change,
and a dispatcher makes one delivery of it for each enabled webhook subscribed to its type. A
dispatcher is one run of the Celery task `webhooks.dispatch` on the `webhooks` queue, so an
import never delays it. It takes new events and due deliveries in batches (`claims`: `FOR
UPDATE SKIP LOCKED`, so dispatchers on several workers share the work), sends from a pool of
threads over kept-alive connections, at most `PER_WEBHOOK` at a time to one webhook (one while a
silent URL is probed), and writes the outcomes in batches (`recording`). While other processes
keep the CPUs busy, or writes come in a burst (`load`), it takes and starts nothing new, for a
while (`Dispatcher.yielding`). It runs until nothing has been due for LINGER seconds, then
schedules itself for the next retry (`waking`).

Why not one task per delivery: a Celery task's own cost, and a delivery's through the ORM and
requests, made a burst of updates to a few webhooks slow the API down markedly (see
docs/benchmarks.md, Webhooks; `make bench-webhooks`). Here a delivery costs a fraction of that;
the request only inserts its event (one row, whatever the number of webhooks), and a thread of
its process then queues a dispatcher unless one is queued or running (`waking.wake`).

Deliveries are claimed for LEASE seconds at a time: those of a worker that dies are sent by the
next dispatcher (a worker's start runs one), perhaps a second time, with the same `webhook-id`.
"""

import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import claims, recording, sender
from .claims import LEASE, Claimed, Target
from .guard import guarded_pool
from .load import RATE_WINDOW, CpuGauge, EventRate
from .recording import Finished
from .waking import MAX_COUNTDOWN, release, schedule_wake

logger = logging.getLogger(__name__)

SENDERS = 16  # requests in flight at once, over all webhooks
PER_WEBHOOK = 4  # requests in flight at once to one webhook
# Seconds between looks for newly due deliveries; EventRate's window, so each look sees afresh
# whether writes come in a burst.
POLL = RATE_WINDOW
# Seconds a dispatcher waits for more before it ends: under a steady trickle of writes, one
# dispatcher keeps sending rather than each write queueing a new one.
LINGER = 1.0
FLUSH = 0.2  # seconds between writes of finished attempts


class Dispatcher:
    """One dispatcher run: `run` it once, from one thread (its sending threads share only the
    connection pool)."""

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
        claimed, fresh = claims.claim_due(busy)
        for row in fresh:
            self.targets.setdefault(row.id, row).refresh(row)
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
                if not can_send(target):
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
        """Write the finished attempts (`recording.record`); returns how many."""
        finished, self.finished = self.finished, []
        if finished:
            recording.record(finished, self.targets, self.schedule)
        return len(finished)

    def renew(self) -> None:
        held = [d.id for t in self.targets.values() for d in t.queue]
        held += [d.id for d in self.sending.values()]
        if held:
            claims.renew(held)


def can_send(target: Target) -> bool:
    """Whether another attempt to the webhook may start now."""
    # While a URL is known to be silent, one attempt at a time probes it.
    limit = 1 if target.unreachable_since is not None else PER_WEBHOOK
    return bool(target.queue) and target.in_flight < limit


def outcome_of(future: "Future[sender.Outcome]") -> sender.Outcome:
    """The attempt's outcome; an error the sender did not expect costs one failed attempt, not
    the dispatcher (which would otherwise meet the same delivery again after each restart)."""
    try:
        return future.result()
    except Exception as exc:
        logger.exception("webhook attempt failed unexpectedly")
        return sender.Outcome(ok=False, error=f"The request failed: {exc}")
