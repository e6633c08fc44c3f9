"""Writing a dispatcher's finished attempts: each delivery's outcome and next attempt (the retry
schedule, with jitter), then each webhook's last attempt, its silence and its count of failed
deliveries, which disables it after WEBHOOK_DISABLE_AFTER_FAILURES.

The deliveries of a batch are written by one statement, RECORD_SQL, which stays SQL because it
runs for every attempt (see docs/benchmarks.md, Webhooks); a webhook's summary by the ORM, once
a batch.
"""

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Value

from . import sender
from .claims import Claimed, Target, bookkeeping
from .models import Delivery, Webhook

# Attempts not sent (a paused URL, a disabled webhook) keep the last real attempt's answer.
RECORD_SQL = f"""
    UPDATE {Delivery._meta.db_table} AS d SET
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


@dataclass
class Finished:
    """An attempt's outcome, noted at `at`, until a flush writes it."""

    delivery: Claimed
    outcome: sender.Outcome
    at: datetime


def record(
    finished: Sequence[Finished], targets: Mapping[int, Target], schedule: Sequence[float]
) -> None:
    """Write the finished attempts: the deliveries, then each webhook's summary (which may
    disable the webhook, and then sets its Target's `enabled` to False). `targets` must hold the
    webhook of each attempt; `schedule` is the retry delays, in seconds."""
    if not finished:
        return
    rows = [delivery_row(item, targets[item.delivery.webhook_id], schedule) for item in finished]
    by_webhook: dict[int, list[Finished]] = {}
    for item in finished:
        by_webhook.setdefault(item.delivery.webhook_id, []).append(item)
    with bookkeeping() as cursor:
        cursor.execute(RECORD_SQL, [list(column) for column in zip(*rows, strict=True)])
        # In the order of their ids, as every dispatcher does: two never deadlock.
        for webhook_id, items in sorted(by_webhook.items()):
            record_on_webhook(targets[webhook_id], items, schedule)


def retries(item: Finished, target: Target, schedule: Sequence[float]) -> bool:
    """Whether the attempt's delivery gets another: it failed, its webhook is enabled, and the
    schedule has a delay left for it."""
    attempts = item.delivery.attempts + 1
    return not item.outcome.ok and target.enabled and attempts <= len(schedule)


def delivery_row(item: Finished, target: Target, schedule: Sequence[float]) -> tuple[Any, ...]:
    """The values RECORD_SQL writes for one attempt, in its order."""
    outcome, attempts = item.outcome, item.delivery.attempts + 1
    next_attempt_at = None
    if outcome.ok:
        status = Delivery.Status.SUCCEEDED
    elif retries(item, target, schedule):
        status = Delivery.Status.PENDING
        # Exponential backoff from the schedule, plus up to 20 % jitter so that the
        # deliveries of one burst do not all come back in the same second.
        delay = schedule[attempts - 1] * (1 + 0.2 * random.random())  # noqa: S311
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


def record_on_webhook(target: Target, items: list[Finished], schedule: Sequence[float]) -> None:
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
    failed = failures_after_last_success(items, target, schedule)
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
    if Webhook.objects.filter(pk=target.id, enabled=True, consecutive_failures__gte=limit).update(
        enabled=False,
        updated_at=now,
        disabled_reason=(
            f"Disabled on {now:%Y-%m-%d at %H:%M} UTC after {limit} deliveries in a row "
            f"failed every attempt. Last error: {error}"
        )[:500],
    ):
        target.enabled = False


def failures_after_last_success(
    items: Sequence[Finished], target: Target, schedule: Sequence[float]
) -> int:
    """Deliveries that failed their last attempt, after the last success among `items` (all of
    them to `target`)."""
    failed = 0
    for item in items:
        if item.outcome.ok:
            failed = 0
        elif not retries(item, target, schedule):
            failed += 1
    return failed
