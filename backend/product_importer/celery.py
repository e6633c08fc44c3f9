"""The Celery app, so `celery -A product_importer worker` finds it.

Long jobs (imports, bulk deletes) go to the `imports` queue and webhook deliveries to the `webhooks`
queue, so that a running import never delays a delivery.

A worker outlives a Redis outage: it reconnects however long it takes (settings), through
kombu's Redis transport with one guard (`Transport`), and without the cluster chatter that
nothing here uses (`without_cluster_chatter`).
"""

import os
from typing import Any

import redis
from celery import Celery
from celery.signals import worker_init
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "product_importer.settings")


class Channel(kombu_redis.Channel):
    """A channel that, once its connection is closed, answers as a lost connection.

    When the connection to Redis is lost, the worker closes it; a channel closed after that
    (the worker's default channel, gossip's) or used again (to acknowledge a task that was
    running meanwhile) would open a new Redis pool from the closed connection's settings, which
    are gone: kombu raised AttributeError ('NoneType' object has no attribute 'hostname'), which
    Celery took for an unrecoverable error, and the worker exited. A connection error instead is
    one the worker expects there: it logs it and goes on reconnecting. The messages the worker
    held go back to the queue after the broker's visibility timeout; running a task again here
    does nothing twice (`jobs.tasks`, `webhooks.claims`).
    """

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:
            raise redis.ConnectionError("the connection to the broker was closed")
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]
        return params


class Transport(kombu_redis.Transport):
    Channel = Channel


app = Celery("product_importer")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def without_cluster_chatter(sender: Any, **kwargs: Any) -> None:
    """Every worker runs without gossip, mingle and worker heartbeats, as with the command's
    `--without-gossip --without-mingle --without-heartbeat` (the tests' workers), whatever
    command started it: nothing here uses them (they share revoked tasks, clocks and worker
    events between workers), and gossip's broadcast queue was one more channel for a Redis
    outage to break (kombu issue #582)."""
    sender.options.update(without_gossip=True, without_mingle=True, without_heartbeat=True)
