"""The Celery task of the `webhooks` queue (CELERY_TASK_ROUTES sends `webhooks.*` there).

The task runs the dispatcher. Nothing imports this module but Celery's autodiscovery: the
dispatcher and the services queue the task by its name (`waking.DISPATCH_TASK`), which keeps the
import graph acyclic (see `waking`).
"""

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from kombu.exceptions import OperationalError as BrokerError

from . import waking
from .dispatch import Dispatcher

logger = logging.getLogger(__name__)


@shared_task(name=waking.DISPATCH_TASK, ignore_result=True)
def dispatch_deliveries() -> int:
    """Send the due deliveries until none is left; returns how many attempts were made."""
    return Dispatcher().run()


@worker_ready.connect
def dispatch_on_start(**kwargs: Any) -> None:
    """A worker's start sends what is due: deliveries held by a worker that died are due again
    once their lease (`claims.LEASE`) has lapsed since it last renewed them."""
    try:
        waking.queue_dispatcher(countdown=0)
    except (BrokerError, OSError) as exc:
        logger.warning("could not queue the webhook dispatcher: %s", exc)
