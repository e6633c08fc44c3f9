"""The Celery app, so `celery -A product_importer worker` finds it.

Long jobs (imports, bulk deletes) go to the `imports` queue and webhook deliveries to the `webhooks`
queue, so that a running import never delays a delivery.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "product_importer.settings")

app = Celery("product_importer")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
