"""Webhook writes, event dispatch, and what one delivery attempt records.

`emit_event` is the one entry point for the other apps: call it inside the transaction of the
write it reports. Its Delivery rows belong to that transaction and their tasks are queued when it
commits, so a rolled-back write sends nothing, and a committed one always has its deliveries.
"""

import functools
import json
import logging
import random
import threading
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from rest_framework.exceptions import APIException

from . import sender
from .guard import guarded_session
from .models import Delivery, Event, Webhook, new_secret
from .signing import new_message_id

logger = logging.getLogger(__name__)

TEST_EVENT = "webhook.test"
TEST_TIMEOUT = 5.0
# Celery's countdown is kept well below the broker's visibility timeout (6 h): on Redis, a task
# whose ETA lies beyond it is handed to a second worker while the first still holds it, and runs
# twice. A later attempt is reached in hops of at most this long (see `attempt_delivery`).
MAX_COUNTDOWN = 3600.0


class Conflict(APIException):
    status_code = 409
    default_code = "conflict"


def create_webhook(
    *, url: str, events: list[str], enabled: bool = True, description: str = ""
) -> Webhook:
    return Webhook.objects.create(url=url, events=events, enabled=enabled, description=description)


def update_webhook(*, webhook: Webhook, **fields: Any) -> Webhook:
    """Change what a user may change; enabling a webhook again forgets why it was disabled."""
    if fields.get("enabled") and not webhook.enabled:
        webhook.disabled_reason = ""
        webhook.consecutive_failures = 0
        webhook.unreachable_since = webhook.unreachable_until = None
    if fields.get("enabled") is False:
        webhook.disabled_reason = ""
    for name, value in fields.items():
        setattr(webhook, name, value)
    webhook.save()
    return webhook


def rotate_secret(*, webhook: Webhook) -> Webhook:
    """A new secret, in force for every attempt from now on (retries included)."""
    webhook.secret = new_secret()
    webhook.save(update_fields=["secret", "updated_at"])
    return webhook


def emit_event(*, event_type: str, data: Mapping[str, Any]) -> int:
    """Queue `event_type` for every enabled webhook subscribed to it; returns how many.

    One Delivery row per webhook, created in the caller's transaction, and one `webhooks.deliver`
    task each, queued when that transaction commits. Costs one query when nobody subscribes.
    """
    if event_type not in Event.values:
        raise ValueError(f"unknown event type {event_type!r}")
    webhook_ids = list(
        Webhook.objects.filter(enabled=True, events__contains=[event_type]).values_list(
            "pk", flat=True
        )
    )
    if not webhook_ids:
        return 0
    now = timezone.now()
    body = json.dumps(
        {"type": event_type, "timestamp": now.isoformat(), "data": data},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    )
    message_id = new_message_id()
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            webhook_id=pk,
            event_type=event_type,
            message_id=message_id,
            body=body,
            next_attempt_at=now,
            task_id=str(uuid.uuid4()),
        )
        for pk in webhook_ids
    )
    if len(deliveries) == 1:
        _queue_on_commit(deliveries[0].pk, deliveries[0].task_id, countdown=0)
    else:
        # One message from the request, whatever the number of webhooks: a task in the worker
        # queues the per-webhook tasks (each publish costs the request about a millisecond).
        jobs = [(d.pk, d.task_id) for d in deliveries]
        transaction.on_commit(functools.partial(_queue_fan_out, jobs))
    return len(deliveries)


def fan_out(jobs: list[tuple[int, str]]) -> None:
    """Queue the delivery tasks of one event (in the worker)."""
    for delivery_id, task_id in jobs:
        _queue(delivery_id, task_id, 0)


def redeliver(*, delivery: Delivery) -> Delivery:
    """Send a finished delivery again, as a new delivery with the same body and webhook-id."""
    if delivery.status == Delivery.Status.PENDING:
        raise Conflict("This delivery is still pending: it will be attempted again by itself.")
    if not delivery.webhook.enabled:
        raise Conflict("The webhook is disabled: enable it, then redeliver.")
    again = Delivery.objects.create(
        webhook=delivery.webhook,
        event_type=delivery.event_type,
        message_id=delivery.message_id,
        body=delivery.body,
        next_attempt_at=timezone.now(),
        task_id=str(uuid.uuid4()),
    )
    _queue_on_commit(again.pk, again.task_id, countdown=0)
    return again


def send_test_event(*, webhook: Webhook) -> dict[str, Any]:
    """A signed `webhook.test` event, sent now (at most 5 s): `{ok, status_code,
    response_time_ms, error}`. Any failure is an answer, never an exception. Not logged."""
    body = json.dumps(
        {
            "type": TEST_EVENT,
            "timestamp": timezone.now().isoformat(),
            "data": {"webhook_id": webhook.pk, "message": "A test event from Product Importer."},
        },
        separators=(",", ":"),
    )
    with guarded_session() as session:
        outcome = sender.send(
            session,
            url=webhook.url,
            secret=webhook.secret,
            message_id=new_message_id(),
            body=body,
            timeout=min(TEST_TIMEOUT, settings.WEBHOOK_TIMEOUT),
        )
    return {
        "ok": outcome.ok,
        "status_code": outcome.status_code,
        "response_time_ms": outcome.duration_ms,
        "error": outcome.error or None,
    }


_local = threading.local()


def _worker_session() -> requests.Session:
    """One session per worker thread (the webhooks worker runs a pool of threads), so deliveries
    to one receiver reuse connections."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = guarded_session()
    return session


def attempt_delivery(*, delivery_id: int, task_id: str) -> None:
    """One attempt of a delivery, by the task `task_id`; stale or duplicate tasks do nothing.

    A task that wakes before the delivery's `next_attempt_at` (a countdown capped at
    MAX_COUNTDOWN) only queues the next hop. The attempt is claimed by clearing `task_id`, so two
    copies of one task (a broker redelivery) never both send.
    """
    delivery = (
        Delivery.objects.select_related("webhook")
        .filter(pk=delivery_id, task_id=task_id, status=Delivery.Status.PENDING)
        .first()
    )
    if delivery is None:
        return
    now = timezone.now()
    wait = (delivery.next_attempt_at - now).total_seconds() if delivery.next_attempt_at else 0.0
    if wait > 0.01:
        with transaction.atomic():
            next_task = str(uuid.uuid4())
            if Delivery.objects.filter(pk=delivery_id, task_id=task_id).update(task_id=next_task):
                _queue_on_commit(delivery_id, next_task, countdown=wait)
        return
    if not Delivery.objects.filter(
        pk=delivery_id, task_id=task_id, status=Delivery.Status.PENDING
    ).update(task_id="", updated_at=now):
        return
    webhook = delivery.webhook
    if not webhook.enabled:
        outcome = sender.Outcome(ok=False, sent=False, error="Not sent: the webhook is disabled.")
    else:
        outcome = _send_unless_unreachable(webhook, delivery)
    _record(delivery, webhook, outcome)


def _send_unless_unreachable(webhook: Webhook, delivery: Delivery) -> sender.Outcome:
    """Send, except while the URL is known to get no answer: then one attempt at a time probes
    it (and the others are recorded as not sent), so a dead receiver costs one worker at most."""
    now = timezone.now()
    until = webhook.unreachable_until
    if until is not None:
        probing_until = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT + 5)
        if until > now or not Webhook.objects.filter(pk=webhook.pk, unreachable_until=until).update(
            unreachable_until=probing_until
        ):
            return sender.Outcome(
                ok=False,
                sent=False,
                error=(
                    f"Not sent: the URL gave no answer to an attempt at "
                    f"{webhook.last_delivery_at or now:%H:%M:%S} UTC ({webhook.last_error}); "
                    "it is tried again after a pause."
                ),
            )
    return sender.send(
        _worker_session(),
        url=webhook.url,
        secret=webhook.secret,
        message_id=delivery.message_id,
        body=delivery.body,
        timeout=settings.WEBHOOK_TIMEOUT,
    )


def _record(delivery: Delivery, webhook: Webhook, outcome: sender.Outcome) -> None:
    now = timezone.now()
    attempts = delivery.attempts + 1
    schedule: list[float] = settings.WEBHOOK_RETRY_SCHEDULE
    retry = not outcome.ok and webhook.enabled and attempts <= len(schedule)
    fields: dict[str, Any] = {"attempts": attempts, "updated_at": now, "next_attempt_at": None}
    if outcome.sent:
        fields.update(
            last_attempt_at=now,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            response_excerpt=outcome.response_excerpt,
        )
    fields["error"] = outcome.error
    # Exponential backoff from the schedule, plus up to 20 % jitter so that the deliveries of one
    # burst do not all come back in the same second.
    delay = schedule[attempts - 1] * (1 + 0.2 * random.random()) if retry else 0.0  # noqa: S311
    if outcome.ok:
        fields["status"] = Delivery.Status.SUCCEEDED
    elif not retry:
        fields["status"] = Delivery.Status.FAILED
    else:
        fields.update(next_attempt_at=now + timedelta(seconds=delay), task_id=str(uuid.uuid4()))
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(**fields)
        if retry:
            _queue_on_commit(delivery.pk, fields["task_id"], countdown=delay)
        _record_on_webhook(webhook, outcome, now, delivery_failed=not retry and not outcome.ok)


def _record_on_webhook(
    webhook: Webhook, outcome: sender.Outcome, now: datetime, *, delivery_failed: bool
) -> None:
    fields: dict[str, Any] = {}
    if outcome.sent:
        fields.update(
            last_status_code=outcome.status_code,
            last_response_time_ms=outcome.duration_ms,
            last_delivery_at=now,
            last_error=outcome.error[:500],
        )
        if outcome.answered:
            fields.update(unreachable_since=None, unreachable_until=None)
        else:
            # The pause grows with the outage (at least the first retry's delay), so a receiver
            # that stays down is probed less and less often.
            since = webhook.unreachable_since or now
            pause = max([*settings.WEBHOOK_RETRY_SCHEDULE[:1], (now - since).total_seconds()])
            pause = min(pause, MAX_COUNTDOWN)
            fields.update(unreachable_since=since, unreachable_until=now + timedelta(seconds=pause))
    if outcome.ok:
        fields["consecutive_failures"] = 0
    elif delivery_failed and webhook.enabled:
        fields["consecutive_failures"] = F("consecutive_failures") + 1
    if not fields:
        return
    fields["updated_at"] = now
    Webhook.objects.filter(pk=webhook.pk).update(**fields)
    if delivery_failed:
        limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
        Webhook.objects.filter(pk=webhook.pk, enabled=True, consecutive_failures__gte=limit).update(
            enabled=False,
            updated_at=now,
            disabled_reason=(
                f"Disabled on {now:%Y-%m-%d at %H:%M} UTC after {limit} deliveries in a row "
                f"failed every attempt. Last error: {outcome.error}"
            )[:500],
        )


def _queue_on_commit(delivery_id: int, task_id: str, *, countdown: float) -> None:
    transaction.on_commit(
        functools.partial(_queue, delivery_id, task_id, min(countdown, MAX_COUNTDOWN))
    )


def _queue_fan_out(jobs: list[tuple[int, str]]) -> None:
    from .tasks import fan_out_event

    try:
        fan_out_event.apply_async(args=(jobs,), retry=False)
    except (BrokerError, OSError) as exc:
        logger.warning("could not queue the deliveries of an event: %s", exc)
        for delivery_id, task_id in jobs:
            _mark_unqueued(delivery_id, task_id)


def _queue(delivery_id: int, task_id: str, countdown: float) -> None:
    """Queue the delivery's task; with the broker down it ends FAILED, to be redelivered by hand."""
    from .tasks import deliver_webhook

    try:
        deliver_webhook.apply_async(
            args=(delivery_id,), task_id=task_id, countdown=countdown, retry=False
        )
    except (BrokerError, OSError) as exc:
        logger.warning("could not queue webhook delivery %s: %s", delivery_id, exc)
        _mark_unqueued(delivery_id, task_id)


def _mark_unqueued(delivery_id: int, task_id: str) -> None:
    Delivery.objects.filter(pk=delivery_id, task_id=task_id).update(
        status=Delivery.Status.FAILED,
        task_id="",
        error="Not sent: the task queue was unavailable. Redeliver it from the log.",
        updated_at=timezone.now(),
    )
