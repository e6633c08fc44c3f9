"""Taking deliveries: new events made into deliveries, due deliveries claimed for a while (a
lease), and the shapes a dispatcher holds them in (`Claimed`, `Target`).

A claimed delivery's `next_attempt_at` is when its lease ends (renewed while it is held): if the
worker dies, the delivery is due again once LEASE seconds have passed, for the next dispatcher
to send. A receiver may then get an attempt twice, with the same `webhook-id`, which Standard
Webhooks receivers use to drop duplicates.

`claim_due` runs on every look of a dispatcher for work, so its statements stay SQL, whose cost
was measured (see docs/benchmarks.md, Webhooks); the lease's renewal, every LEASE / 3 seconds,
is the ORM.
"""

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models.functions import Now

from .models import Delivery, Event, Webhook

CLAIM_BATCH = 200
FAN_OUT_BATCH = 1000  # events made into deliveries at once
LEASE = 60.0  # seconds a claim lasts; renewed every third of it while held

EVENT = Event._meta.db_table
DELIVERY = Delivery._meta.db_table
WEBHOOK = Webhook._meta.db_table

# New events become deliveries: one for each enabled webhook subscribed to the type, if the
# webhook existed when the event happened.
FAN_OUT_SQL = f"""
    WITH new AS (
        SELECT id, type, created_at FROM {EVENT}
        WHERE NOT fanned_out ORDER BY id LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ), marked AS (
        UPDATE {EVENT} AS e SET fanned_out = true FROM new WHERE e.id = new.id
    )
    INSERT INTO {DELIVERY} (
        webhook_id, event_id, status, attempts, error, response_excerpt, created_at, updated_at,
        next_attempt_at
    )
    SELECT w.id, new.id, 'pending', 0, '', '', new.created_at, now(), now()
    FROM new JOIN {WEBHOOK} AS w ON w.enabled
        AND w.events @> ARRAY[new.type]::varchar(40)[] AND w.created_at <= new.created_at
    ORDER BY new.id, w.id
"""
CLAIM_SQL = f"""
    WITH due AS (
        SELECT id FROM {DELIVERY}
        WHERE status = 'pending' AND next_attempt_at <= now() AND webhook_id <> ALL(%(busy)s)
        ORDER BY next_attempt_at, id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    UPDATE {DELIVERY} AS d
    SET next_attempt_at = now() + make_interval(secs => %(lease)s)
    FROM due, {EVENT} AS e WHERE d.id = due.id AND e.id = d.event_id
    RETURNING d.id, d.webhook_id, e.message_id, e.body, d.attempts
"""
TARGETS_SQL = f"""
    SELECT id, url, secret, enabled, unreachable_since, unreachable_until, last_delivery_at,
        last_error
    FROM {WEBHOOK} WHERE id = ANY(%s)
"""


@dataclass
class Claimed:
    """A delivery in hand, in the columns CLAIM_SQL returns."""

    id: int
    webhook_id: int
    message_id: str
    body: str
    attempts: int


@dataclass
class Target:
    """A webhook as the dispatcher sees it (the columns TARGETS_SQL returns), with its
    deliveries in hand."""

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


@contextmanager
def bookkeeping() -> Iterator[CursorWrapper]:
    """A transaction for the dispatcher's own writes, committed without waiting for the disk
    (a busy import waits on it less). A database crash may undo its last fraction of a second:
    the deliveries concerned are sent again, with the same `webhook-id`."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield cursor


def claim_due(busy: list[int]) -> tuple[list[Claimed], list[Target]]:
    """Make deliveries of new events, then claim the due ones of the webhooks not in `busy` for
    LEASE seconds; with the webhooks they go to, as stored (nothing queued, nothing in flight).

    Dispatchers that claim at once each get deliveries of their own (`SKIP LOCKED`). A delivery
    whose webhook was deleted meanwhile is claimed without its Target.
    """
    with bookkeeping() as cursor:
        cursor.execute(FAN_OUT_SQL, {"limit": FAN_OUT_BATCH})
        cursor.execute(CLAIM_SQL, {"busy": busy, "limit": CLAIM_BATCH, "lease": LEASE})
        claimed = [Claimed(*row) for row in cursor.fetchall()]
        if not claimed:
            return [], []
        cursor.execute(TARGETS_SQL, [list({d.webhook_id for d in claimed})])
        targets = [Target(*row) for row in cursor.fetchall()]
    return claimed, targets


def renew(ids: list[int]) -> None:
    """Extend to LEASE seconds from now the lease of those deliveries of `ids` still pending."""
    with bookkeeping():
        Delivery.objects.filter(id__in=ids, status=Delivery.Status.PENDING).update(
            next_attempt_at=Now() + timedelta(seconds=LEASE)
        )
