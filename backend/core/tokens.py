"""Token authentication with the token's user kept in the shared cache between requests.

DRF's `TokenAuthentication` reads the token and its user in one query on every request, a
third of a list page's CPU once the rest is cheap. `TokenAuthentication` here keeps the user's
fields, all but the password, in the cache (Redis) for ACCESS_CACHE_SECONDS (0: no cache),
under a hash of the token (the cache never holds a token itself), and builds the user from them
with the password deferred: read, it is fetched; saved, the user's other fields are written and
never the password.

A token deleted, and a user saved or deleted, drop the entries at once and again after the
transaction commits (as `core.access` does), so that a revoked token, a deactivated user or a
changed password (which saves the user) is refused from the next request on. A change that
Django does not signal (raw SQL, `QuerySet.update`) shows within ACCESS_CACHE_SECONDS. While
Redis is away, every request reads the database, as DRF does.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from redis.exceptions import RedisError
from rest_framework import authentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

logger = logging.getLogger(__name__)

KEY_VERSION = 1
# Every concrete field of the user but its password.
USER_FIELDS = tuple(
    f.attname for f in User._meta.concrete_fields if f.attname != "password"
)  # fmt: skip


def _key(token_key: str) -> str:
    digest = hashlib.sha256(token_key.encode()).hexdigest()
    return f"token:{KEY_VERSION}:{digest}"


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's (`Authorization: Token <key>`, the same answers), its user cached."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        seconds = settings.ACCESS_CACHE_SECONDS
        if seconds <= 0:
            return super().authenticate_credentials(key)
        cache_key = _key(key)
        try:
            values = cache.get(cache_key)
        except RedisError as exc:
            logger.warning("token read from the database, the cache is unreachable: %s", exc)
            return super().authenticate_credentials(key)
        if values is None:
            user, token = super().authenticate_credentials(key)  # raises for a bad one
            values = [getattr(user, name) for name in USER_FIELDS]
            try:
                cache.set(cache_key, values, seconds)
            except RedisError as exc:
                logger.warning("token not cached, the cache is unreachable: %s", exc)
            return user, token
        user = User.from_db("default", list(USER_FIELDS), values)
        if not user.is_active:  # cached before a deactivation that no signal told of
            raise AuthenticationFailed("User inactive or deleted.")
        return user, Token.from_db("default", ["key", "user_id"], [key, user.pk])


def _drop(keys: list[str]) -> None:
    if not keys:
        return
    try:
        cache.delete_many(keys)
    except RedisError as exc:
        logger.warning("cached tokens not dropped, the cache is unreachable: %s", exc)


def _forget(token_keys: list[str]) -> None:
    keys = [_key(token_key) for token_key in token_keys]
    _drop(keys)
    if keys:
        transaction.on_commit(lambda: _drop(keys), robust=True)


def _token_deleted(sender: Any, instance: Token, **kwargs: Any) -> None:
    _forget([instance.key])


def _user_changed(sender: Any, instance: User, **kwargs: Any) -> None:
    _forget(list(Token.objects.filter(user_id=instance.pk).values_list("key", flat=True)))


def connect_signals() -> None:
    """Called once, when the apps are ready (`core.apps`)."""
    uid = "core.tokens"
    post_delete.connect(_token_deleted, sender=Token, dispatch_uid=uid)
    # pre_delete would do for a deleted user, but its tokens go first (a cascade) and say so.
    post_save.connect(_user_changed, sender=User, dispatch_uid=uid)
