# The image of the web and worker processes (docker-compose.yml runs both from it).
# PostgreSQL and Redis are separate containers here, so only the service's packages are installed:
# requirements.txt, which `make lock` exports from uv.lock with every package and its hashes (the
# local group, the embedded servers of `make run`, and the dev group are left out).

# The dashboard, built in a stage of its own: the image keeps only its static files.
FROM node:20-slim AS dashboard
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/static \
    MEDIA_ROOT=/data/media

# An unprivileged account with a home (gunicorn keeps its control socket in ~/.gunicorn).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app app

WORKDIR /app
COPY requirements.txt ./
RUN pip install --require-hashes --no-deps -r requirements.txt

COPY backend/ ./backend/
COPY --from=dashboard /frontend/dist ./frontend/dist/
WORKDIR /app/backend

# Static files are collected into the image (WhiteNoise serves them). The settings refuse to load
# without SECRET_KEY when DEBUG is off, so this one command gets a throwaway value that is used for
# nothing else and never becomes part of the image's environment. Then the folders the app writes
# to: uploads (a volume in docker-compose.yml) and the data folder ensure_admin uses.
RUN DEBUG=false SECRET_KEY=build-only-collectstatic-not-a-secret \
        python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /data/media /app/.data \
    && chown app:app /data/media /app/.data

USER app
EXPOSE 8000

CMD ["gunicorn", "product_importer.asgi:application", "-k", "uvicorn_worker.UvicornWorker", \
     "--bind", "0.0.0.0:8000", "--workers", "2"]
