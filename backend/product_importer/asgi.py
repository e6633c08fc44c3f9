"""ASGI entry point: `uvicorn product_importer.asgi:application`.

Every request first passes the body limits (`core.body_limits`): a body is counted as it
arrives and refused once over its limit, and an upload from someone not signed in is refused
before its body is read, since Django reads a whole body before anything of it runs. Then:

- live job progress (`/api/job/<uuid>/events/`) is served by its own small ASGI app, so a
  watcher holds no thread;
- an upload, which Django spools to disk as it arrives, and the CSV streams (the export, a dry
  run's changes), go to Django's ASGI handler;
- everything else goes to Django's WSGI handler, in one thread per request
  (`core.wsgi_bridge`): Django's ASGI handler would hop to a thread and back for each
  middleware and the view. DJANGO_HANDLER=asgi sends these to the ASGI handler too (the
  benchmark's "before": `benchmarks.web_cpu`).
"""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.urls import reverse

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "product_importer.settings")

django_asgi = get_asgi_application()

from core.body_limits import limit_bodies  # noqa: E402
from core.wsgi_bridge import serve_wsgi  # noqa: E402
from jobs.changes import CHANGES_CSV_PATH  # noqa: E402
from jobs.events import EVENTS_PATH, Receive, Scope, Send, job_events  # noqa: E402

django_wsgi = serve_wsgi(get_wsgi_application(), threads=settings.WEB_THREADS)
UPLOAD_PATHS = frozenset({reverse("product-upload")})
ASGI_PATHS = UPLOAD_PATHS | {reverse("product-export")}
ALL_ASGI = settings.DJANGO_HANDLER == "asgi"


async def route(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        await django_asgi(scope, receive, send)
    elif EVENTS_PATH.fullmatch(scope["path"]) and scope["method"] == "GET":
        await job_events(scope, receive, send)
    elif ALL_ASGI or scope["path"] in ASGI_PATHS or CHANGES_CSV_PATH.fullmatch(scope["path"]):
        await django_asgi(scope, receive, send)
    else:
        await django_wsgi(scope, receive, send)


application = limit_bodies(route, upload_paths=UPLOAD_PATHS)
