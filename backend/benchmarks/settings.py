"""The settings of the benchmarks' web server: the app's own, plus two bare views
(`benchmarks.urls`) that give the floor of a request on the same server setup.

Only `benchmarks.web_cpu` uses it (`DJANGO_SETTINGS_MODULE=benchmarks.settings`); nothing in
production or `make run` names it, so the bare views are never served there.
"""

from product_importer.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
# Django logs a warning for each 4xx answer: not 800 lines of "Not Found" for the 404s measured.
LOGGING = {**LOGGING, "loggers": {"django.request": {"level": "ERROR"}}}  # noqa: F405
