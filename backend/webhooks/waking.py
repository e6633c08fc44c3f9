"""Getting a dispatcher to run: the Redis flags, the waker thread of a writing process, and the
queueing and scheduling of the Celery task `webhooks.dispatch`.

Once a write's events commit, its process queues a dispatcher (`wake`) unless one is queued or
running (RUNNING_KEY); a dispatcher that ends schedules the next for the earliest pending
delivery (`schedule_wake`) unless one comes by then (WAKE_KEY). The flags are hints: with the
broker down they are skipped and logged, and the events wait for the next dispatcher (a worker's
start queues one).

The task is sent by its name, DISPATCH_TASK, rather than imported from `webhooks.tasks`: that
task runs the dispatcher, which releases RUNNING_KEY and schedules its successor through this
module, so importing it here would close a cycle (tasks -> dispatch -> waking -> tasks). Sent by
name it takes the same route (`webhooks.*` to the `webhooks` queue) and the same options as
`apply_async` would; `webhooks.tasks` registers the task under that name.
"""

import atexit
import functools
import logging
import os
import threading
import time
from datetime import datetime

import redis
from celery import current_app
from django.conf import settings
from django.db.models import Min
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from .models import Delivery, Event

logger = logging.getLogger(__name__)

DISPATCH_TASK = "webhooks.dispatch"
# Set while a dispatcher is queued or running: a write then queues no other.
RUNNING_KEY = "webhooks:dispatcher"
RUNNING_TTL = 300
# When the next dispatcher is scheduled (a Unix time), so retries do not schedule one each.
WAKE_KEY = "webhooks:dispatcher:wake"
# Celery's countdown is kept well below the broker's visibility timeout (6 h): on Redis, a task
# whose ETA lies beyond it is handed to a second worker while the first still holds it.
MAX_COUNTDOWN = 3600.0


@functools.cache
def broker() -> redis.Redis:
    """The broker's Redis, which holds the flags: one client a process, with short timeouts so
    that a dead broker holds up a waker or a dispatcher for seconds, not indefinitely."""
    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2
    )


def queue_dispatcher(*, countdown: float) -> None:
    """Send the dispatcher task to run in `countdown` seconds. Raises what the broker raises
    (kombu's OperationalError, OSError): each caller decides what a failure costs it."""
    current_app.send_task(DISPATCH_TASK, countdown=countdown, retry=False, ignore_result=True)


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


def release() -> None:
    """Let the next write queue a dispatcher."""
    try:
        broker().delete(RUNNING_KEY)
    except redis.RedisError as exc:  # it expires by itself
        logger.warning("could not reach the broker: %s", exc)


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


def next_due() -> datetime | None:
    """When the earliest pending delivery is due, or the oldest event not yet made into
    deliveries was recorded (it is due at once); None when nothing waits."""
    # The ORM: this runs once as a dispatcher ends, off the measured path.
    dues: list[datetime | None] = [
        Delivery.objects.filter(status=Delivery.Status.PENDING).aggregate(
            due=Min("next_attempt_at")
        )["due"],
        Event.objects.filter(fanned_out=False).aggregate(due=Min("created_at"))["due"],
    ]
    return min((due for due in dues if due is not None), default=None)


def schedule_wake() -> None:
    """Schedule a dispatcher for the earliest pending delivery, unless one comes by then."""
    due = next_due()
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
