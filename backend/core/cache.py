"""Django's Redis cache, its redis-py client and connections kept once per process.

Django's cache handler keeps a cache object per context (`django.core.cache.caches`), and a
request served from an event loop (Django's ASGI handler, `core.wsgi_bridge`) runs in a copy of
the loop's context: every request made its cache object anew, with a connection pool of its
own, so its first cache call connected to Redis again (with redis-py's handshake). Django's
`RedisCacheClient` also makes a `redis.Redis` for every call, whose table of response callbacks
costs more CPU than the GET it is made for. Here the client of each server, with its connection
pool, is made once per process and shared: redis-py's clients and pools are thread-safe, and a
pool reconnects by itself in a forked child (the Celery workers).
"""

import threading
from typing import Any

from django.core.cache.backends import redis as django_redis

_clients: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


class RedisCacheClient(django_redis.RedisCacheClient):
    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django: Any = self  # the attributes of Django's client, which its stubs leave out
        index = django._get_connection_pool_index(write)
        server = django._servers[index]
        ident = (server, repr(sorted(django._pool_options.items())))
        client = _clients.get(ident)
        if client is None:
            with _lock:
                client = _clients.get(ident)
                if client is None:
                    pool = django._pool_class.from_url(server, **django._pool_options)
                    client = _clients[ident] = django._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
