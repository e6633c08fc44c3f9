"""The project's settings, with request bodies and uploads spooled to disk beyond 64 KiB (not
2.5 MiB), so that a test of the body limits sees on disk what the server takes in."""

from product_importer.settings import *  # noqa: F403

FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
