"""The Celery task of the `webhooks` queue (CELERY_TASK_ROUTES sends `webhooks.*` there)."""

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from kombu.exceptions import OperationalError as BrokerError

from . import dispatch

logger = logging.getLogger(__name__)


@shared_task(name="webhooks.dispatch", ignore_result=True)
def dispatch_deliveries() -> int:
    """Send the due deliveries until none is left; returns how many attempts were made."""
    return dispatch.Dispatcher().run()


@worker_ready.connect
def dispatch_on_start(**kwargs: Any) -> None:
    """A worker's start sends what is due: deliveries held by a worker that died are due again
    a minute after it last renewed its hold."""
    try:
        dispatch.queue_dispatcher(countdown=0)
    except (BrokerError, OSError) as exc:
        logger.warning("could not queue the webhook dispatcher: %s", exc)
