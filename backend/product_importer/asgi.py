"""ASGI entry point: `uvicorn product_importer.asgi:application`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "product_importer.settings")

application = get_asgi_application()
