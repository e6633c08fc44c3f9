"""ASGI entry point: `uvicorn product_importer.asgi:application`.

Every request first passes the body limits (`core.body_limits`): a body is counted as it
arrives and refused once over its limit, and an upload from someone not signed in is refused
before its body is read, since Django reads a whole body before anything of it runs. Then live
job progress (`/api/job/<uuid>/events/`) is served by its own small ASGI app, so a watcher holds
no thread; everything else goes to Django.
"""

import os

from django.core.asgi import get_asgi_application
from django.urls import reverse

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "product_importer.settings")

django_application = get_asgi_application()

from core.body_limits import limit_bodies  # noqa: E402
from jobs.events import EVENTS_PATH, Receive, Scope, Send, job_events  # noqa: E402


async def route(scope: Scope, receive: Receive, send: Send) -> None:
    if (
        scope["type"] == "http"
        and EVENTS_PATH.fullmatch(scope["path"])
        and scope["method"] == "GET"
    ):
        await job_events(scope, receive, send)
    else:
        await django_application(scope, receive, send)


application = limit_bodies(route, upload_paths={reverse("product-upload")})
