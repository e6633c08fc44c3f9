"""The dashboard's page: `frontend/dist/index.html` for `/` and every client-side route.

WhiteNoise serves the built files themselves (`WHITENOISE_ROOT`); this view answers the page that
loads them, so that a reload of `/products` or a shared link to `/imports` works.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Product Importer</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>The dashboard is not built</h1>
<p><code>make run</code> builds it. To build it by hand:
<code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>, then restart the server.</p>
<p>The API works without it: <a href="/api/">the browsable API</a>,
<a href="/api/docs/">the API docs</a>.</p>
</body></html>
"""


@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    try:
        page = (settings.FRONTEND_DIST / "index.html").read_bytes()
    except FileNotFoundError:
        return HttpResponse(NOT_BUILT, status=503, content_type="text/html; charset=utf-8")
    response = HttpResponse(page, content_type="text/html; charset=utf-8")
    # The page names the current build's files: always ask again, never serve an old one.
    patch_cache_control(response, no_cache=True)
    return response
