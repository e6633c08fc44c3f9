"""Celery tasks of the `webhooks` queue (CELERY_TASK_ROUTES sends `webhooks.*` there)."""

from celery import Task, shared_task

from . import services


# acks_late (the project's default) stays: a worker that dies mid-attempt leaves the message to
# be delivered again, and the claim in `attempt_delivery` keeps copies from sending twice. Retries
# are new tasks queued by the service with a countdown capped below the broker's visibility
# timeout (services.MAX_COUNTDOWN), not `self.retry`: a longer ETA on Redis would be handed out
# twice. The schedule, the attempt count and the next attempt's time live in the Delivery row.
@shared_task(name="webhooks.deliver", bind=True, ignore_result=True)
def deliver_webhook(self: Task, delivery_id: int) -> None:  # type: ignore[type-arg]
    services.attempt_delivery(delivery_id=delivery_id, task_id=str(self.request.id))


@shared_task(name="webhooks.fan_out", ignore_result=True)
def fan_out_event(jobs: list[tuple[int, str]]) -> None:
    """One event's deliveries, as (delivery id, task id) pairs: queue a task for each."""
    services.fan_out([(int(delivery_id), str(task_id)) for delivery_id, task_id in jobs])
