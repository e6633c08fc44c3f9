"""What the core tests share."""

import redis
from django.conf import settings


def forget_counts() -> None:
    """Empty the throttles' counts in the cache (Redis): each test starts with none."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("cache:*:throttle_*"):
        client.delete(key)
    client.close()
