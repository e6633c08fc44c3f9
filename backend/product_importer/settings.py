"""Settings, read from the environment (see `.env.example` at the top of the repository).

Local defaults are safe; nothing secret has a default that production could end up using.
"""

import json
import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BASE_DIR.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name).lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from exc


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """A throttle's rate: "10/minute" (per second, minute, hour or day), or "off"."""
    value = env_str(name, default).lower()
    if value != "off" and not re.fullmatch(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f'{name} must be like "10/minute" or "off", not {value!r}')
    return value


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=true for local development).")
    SECRET_KEY = "insecure-local-development-key-only-used-with-debug"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Served over HTTPS (directly or behind a proxy that sets X-Forwarded-Proto): secure cookies, HSTS
# and a redirect from plain HTTP. `make run` and docker-compose serve plain HTTP on localhost.
HTTPS = env_bool("HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "core",
    "products",
    "jobs",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Inside SecurityMiddleware, so the JSON it makes of an error page still gets its headers.
    "core.middleware.ApiErrorsAsJson",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "product_importer.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "product_importer.wsgi.application"
ASGI_APPLICATION = "product_importer.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(env_str("DATABASE_URL", "postgres:///product_importer"))
}
# A server that does not answer a connect is given up after 3 s (one that refuses it, at once),
# unless DATABASE_URL says otherwise (?connect_timeout=).
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
# Under ASGI every request runs its sync code in a thread of its own, so thread-bound persistent
# connections would be opened anew per request (a few ms of SCRAM handshake each): a pool per
# process instead. DATABASE_POOL_SIZE=0 turns it off (e.g. behind PgBouncer).
# While the database is away, a request waits at most `timeout` for a connection before its 503;
# a failed connect is tried again for `reconnect_timeout` seconds, then at the next request's
# need, so the pool is back within a second or so of the database.
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 8)
if DATABASE_POOL_SIZE > 0:
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        "timeout": 3,
        "reconnect_timeout": 2,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 0)
# The web server hands most requests to Django's WSGI handler in a pool of WEB_THREADS threads
# per process (core/wsgi_bridge.py); no more than the pool has connections, so that no request
# waits for one. DJANGO_HANDLER=asgi serves them with Django's ASGI handler instead, a thread hop
# per middleware (what the benchmark compares against: benchmarks/web_cpu.py).
WEB_THREADS = env_int("WEB_THREADS", DATABASE_POOL_SIZE or 8)
DJANGO_HANDLER = env_str("DJANGO_HANDLER", "wsgi").lower()
if DJANGO_HANDLER not in {"wsgi", "asgi"}:
    raise ImproperlyConfigured(f"DJANGO_HANDLER must be wsgi or asgi, not {DJANGO_HANDLER!r}")
# A connection is checked before a request uses it (the pool's check: an empty query, about
# 0.1 ms on loopback): after a database restart, dead ones are replaced, never handed out (all
# at once: core.db.drop_dead_pooled_connections).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Seconds a statement of an API request may run at the database before PostgreSQL stops it and
# the request is answered 503 (core.db.bounded_statements); 0 turns the bound off. Exports,
# the workers' job work and management commands are not bounded.
API_STATEMENT_TIMEOUT = env_int("API_STATEMENT_TIMEOUT", 10)
# Milliseconds an API write waits for a product row that another transaction (an import) holds,
# before it is answered 409 with Retry-After (products.services); below PostgreSQL's
# deadlock_timeout (1 s), so that in a deadlock the API write, never the import, gives way.
API_LOCK_TIMEOUT_MS = env_int("API_LOCK_TIMEOUT_MS", 800)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's ModelBackend, with each user's groups and permissions kept in the cache (Redis) for
# ACCESS_CACHE_SECONDS, dropped at once when they change (core/access.py); so is the user of an
# API token (core/tokens.py). 0 turns both off.
AUTHENTICATION_BACKENDS = ["core.access.AccessBackend"]
ACCESS_CACHE_SECONDS = env_int("ACCESS_CACHE_SECONDS", 60)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(REPO_DIR / ".data" / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(REPO_DIR / ".data" / "media")))
WHITENOISE_USE_FINDERS = DEBUG
# The dashboard, built by `make run` into frontend/dist: WhiteNoise serves its files at the site's
# root (read at start-up unless DEBUG), `core.dashboard` answers its page for client-side routes.
FRONTEND_DIST = Path(env_str("FRONTEND_DIST", str(REPO_DIR / "frontend" / "dist")))
WHITENOISE_ROOT = FRONTEND_DIST if FRONTEND_DIST.is_dir() else None
# Vite names each built asset after its content hash: those can be cached for good.
WHITENOISE_IMMUTABLE_FILE_TEST = r"^/assets/[^/]+-[\w-]{8}\.\w+$"

# Uploaded files go through Django's storage API: the local media folder by default, or any backend
# by configuration (e.g. STORAGE_BACKEND=storages.backends.s3.S3Storage with django-storages[s3]
# installed and STORAGE_OPTIONS='{"bucket_name": "..."}'), so web and workers can run apart.
STORAGES = {
    "default": {
        "BACKEND": env_str("STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": json.loads(env_str("STORAGE_OPTIONS", "{}")),
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# The cache holds the throttles' counts, shared by every web process. Short timeouts: while Redis
# is away the throttles let requests through (core/throttling.py) rather than wait for it.
CACHES = {
    "default": {
        "BACKEND": "core.cache.RedisCache",  # Django's, one redis-py client kept per server
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}

CELERY_BROKER_URL = REDIS_URL
# kombu's Redis transport, with a guard that keeps a Redis outage from crashing a worker.
CELERY_BROKER_TRANSPORT = "product_importer.celery:Transport"
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_DEFAULT_QUEUE = "imports"
CELERY_TASK_ROUTES = {"webhooks.*": {"queue": "webhooks"}}
CELERY_TASK_ACKS_LATE = True
# Above the longest import, so Redis never hands a running task to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# A worker that loses Redis keeps trying to reconnect, at start-up too, however long it takes
# (Celery gives up after 100 tries by default, about 50 minutes). A task running meanwhile goes
# on; its message comes back to the queue (at once, or after the visibility timeout) and runs
# again, which does nothing twice (`jobs.tasks`).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# The periodic tasks, run by the beat inside the imports worker (`celery worker --beat`), from
# a schedule kept in memory: no schedule file, and a second worker's beat only repeats work that
# is safe to repeat.
CELERY_BEAT_SCHEDULER = "celery.beat:Scheduler"
CELERY_BEAT_SCHEDULE = {
    # Previews past PREVIEW_KEEP_HOURS, before-images past UNDO_KEEP_DAYS.
    "prune-expired-previews": {"task": "imports.prune_expired", "schedule": 600.0},
}

REST_FRAMEWORK = {
    # Token first, so an anonymous request is answered 401 with a WWW-Authenticate header.
    # DRF's, with the token's user kept in the cache (core/tokens.py).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Each view names the permission of each action; the roles hold them (core/roles.py).
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.RolePermission"],
    # Every request, per user and, anonymous, per address; sign-in and jobs have their own
    # (core/throttling.py). The counts are kept in the cache (Redis).
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.AnonThrottle", "core.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("THROTTLE_ANONYMOUS_PER_ADDRESS", "300/minute"),
        "user": env_rate("THROTTLE_REQUESTS_PER_USER", "2000/minute"),
        "jobs": env_rate("THROTTLE_JOBS_PER_USER", "60/hour"),
        "sign_in_address": env_rate("THROTTLE_SIGN_IN_PER_ADDRESS", "10/minute"),
        "sign_in_username": env_rate("THROTTLE_SIGN_IN_PER_USERNAME", "10/minute"),
    },
    # The client's address for the throttles: REMOTE_ADDR with 0 (a direct connection), else the
    # NUM_PROXIES-th address from the right of X-Forwarded-For (behind that many proxies).
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    # django-filter's, skipped where no filter is asked for (core/filters.py).
    "DEFAULT_FILTER_BACKENDS": ["core.filters.FilterBackend"],
    # drf-spectacular's, with the errors every view shares (401, 403, 429, ...) documented.
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    # DRF's three, the JSON one with a size limit and a nesting bound (core/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
    "PAGE_SIZE": 25,
}

# Request bodies are counted as they arrive, in front of Django (core/body_limits.py): an upload
# over MAX_UPLOAD_BYTES (default 1 GiB), or any other body over MAX_BODY_BYTES (JSON and forms;
# default 1 MiB), is refused with 413 once that many bytes came in, with or without a
# Content-Length, and nothing beyond the limit is written to disk.
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 1024**3)
MAX_BODY_BYTES = env_int("MAX_BODY_BYTES", 1024**2)
# A stored catalog may expand to at most MAX_IMPORT_BYTES of CSV (default 4 GiB), and a .csv.gz
# compress at most MAX_GZIP_RATIO to 1 (default 200: catalogs compress 2 to 15 times, under 170
# even when every row repeats one long description; a bomb of repeated rows 500 to 1,000);
# beyond either, the import fails and changes nothing (jobs/uploads.py).
MAX_IMPORT_BYTES = env_int("MAX_IMPORT_BYTES", 4 * 1024**3)
MAX_GZIP_RATIO = env_int("MAX_GZIP_RATIO", 200)
# A dry run (a preview) keeps its file and its changes this many hours, for `apply`; then they
# are removed, within ten minutes (the beat's `imports.prune_expired`).
PREVIEW_KEEP_HOURS = env_int("PREVIEW_KEEP_HOURS", 24)
# A completed import or bulk delete keeps its before-images this many days, for a revert (then
# they are pruned); 0 keeps none, and nothing can be reverted (docs/deployment.md).
UNDO_KEEP_DAYS = env_int("UNDO_KEEP_DAYS", 7)
# Django's CSRF failure page: JSON under /api/ (core/views.py).
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
# A running job's worker writes a heartbeat every JOB_HEARTBEAT_INTERVAL seconds; a job whose
# heartbeat is older than JOB_HEARTBEAT_TIMEOUT seconds is failed as its worker's death: within
# 30 s of a kill, with six beats of slack for a busy machine.
JOB_HEARTBEAT_INTERVAL = env_int("JOB_HEARTBEAT_INTERVAL", 5)
JOB_HEARTBEAT_TIMEOUT = env_int("JOB_HEARTBEAT_TIMEOUT", 30)
# Jobs PENDING this many seconds after they were queued, with no job task queued and no job
# running (the broker's data lost, a worker killed holding their tasks), get a task again when
# jobs are read; a worker of the jobs' queue looks at once as it starts.
JOB_REQUEUE_AFTER = env_int("JOB_REQUEUE_AFTER", 60)

# Filtered product lists count their matches exactly up to this many; beyond, they estimate.
EXACT_COUNT_LIMIT = env_int("EXACT_COUNT_LIMIT", 1000)
# Searches read up to this many products that the search upkeep has not applied yet from the
# catalog itself; beyond (just after a large import), the search table alone answers until it
# has caught up (`products.search`).
SEARCH_DELTA_SCAN_LIMIT = env_int("SEARCH_DELTA_SCAN_LIMIT", 1000)

# Webhooks (webhooks/). Private, loopback and link-local targets are refused unless this is on
# (`make run` and the tests turn it on; production leaves it off).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
# Seconds to wait for a receiver's answer; the test button waits at most 5 s.
WEBHOOK_TIMEOUT = float(env_str("WEBHOOK_TIMEOUT", "10"))
# Seconds before each retry (jitter adds up to 20 %): 7 retries, 8 attempts in all, about 17 h.
WEBHOOK_RETRY_SCHEDULE = [
    float(item) for item in env_list("WEBHOOK_RETRY_SCHEDULE", "5,30,300,1800,7200,18000,36000")
]
# A webhook is disabled after this many deliveries in a row failed all their attempts.
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 5)
# Deliveries wait while other processes keep the machine's CPUs busier than this percentage
# (100: never), or while writes record more events a second than WEBHOOK_YIELD_ABOVE_EVENTS (a
# burst; 0: never), for at most WEBHOOK_MAX_DEFER seconds in a row.
WEBHOOK_YIELD_ABOVE_CPU = env_int("WEBHOOK_YIELD_ABOVE_CPU", 50)
WEBHOOK_YIELD_ABOVE_EVENTS = env_int("WEBHOOK_YIELD_ABOVE_EVENTS", 20)
WEBHOOK_MAX_DEFER = float(env_str("WEBHOOK_MAX_DEFER", "30"))

SPECTACULAR_SETTINGS = {
    "TITLE": "Product Importer API",
    "DESCRIPTION": "Import large product catalogs from CSV, manage products and webhooks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
