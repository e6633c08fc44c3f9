"""ASGI entry point: `uvicorn product_importer.asgi:application`.

Live job progress (`/api/job/<uuid>/events/`) is served by its own small ASGI app, so a watcher
holds no thread; everything else goes to Django.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "product_importer.settings")

django_application = get_asgi_application()

from jobs.events import EVENTS_PATH, Receive, Scope, Send, job_events  # noqa: E402


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if (
        scope["type"] == "http"
        and EVENTS_PATH.fullmatch(scope["path"])
        and scope["method"] == "GET"
    ):
        await job_events(scope, receive, send)
    else:
        await django_application(scope, receive, send)
