"""What a user may do, kept in the shared cache between requests: one Redis read per API
request instead of three queries (the role's groups, the user's and the groups' permissions).

`AccessBackend` is Django's `ModelBackend` whose `get_all_permissions` (what `user.has_perm`
asks) reads `access_of(user)`; `core.roles.role_of` reads the same entry for the role. An entry
is the user's role groups and permissions, built from the database on a miss, kept for
ACCESS_CACHE_SECONDS (0: no cache).

It stays right when access changes: every change Django signals that can change a user's
groups or permissions (a user's groups or own permissions, a group's permissions, a user saved
or deleted, a group renamed or deleted, a permission changed or deleted) drops the entries of
the users it touches, at once and again after the transaction commits, so that a request that
read the old rows meanwhile cannot leave them behind. A change that Django does not signal (raw
SQL, `QuerySet.update`) shows within ACCESS_CACHE_SECONDS. The key holds the user's
`date_joined`, so a database made anew, whose ids start again, never finds another user's entry.
While Redis is away, access is read from the database on every request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission, User
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

KEY_VERSION = 1  # bumped when the entry's shape changes


class Access(TypedDict):
    groups: frozenset[str]  # the names of the user's groups
    permissions: frozenset[str]  # `app_label.codename`, the user's own and its groups'


def _key(user_id: Any, joined: str) -> str:
    return f"access:{KEY_VERSION}:{user_id}:{joined}"


def _user_key(user: Any) -> str:
    return _key(user.pk, user.date_joined.isoformat())


class AccessBackend(ModelBackend):
    """ModelBackend, its permissions read through `access_of`."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = set(access_of(user_obj)["permissions"])
        cached: set[str] = user_obj._perm_cache
        return cached


def access_of(user: Any) -> Access:
    """The user's groups and permissions: from the request's user object, the cache, or the
    database (then cached). For an active, signed-in user."""
    if "_access_cache" in user.__dict__:
        held: Access = user.__dict__["_access_cache"]
        return held
    key = _user_key(user)
    seconds = settings.ACCESS_CACHE_SECONDS
    access: Access | None = None
    if seconds > 0:
        try:
            access = cache.get(key)
        except RedisError as exc:
            logger.warning("access read from the database, the cache is unreachable: %s", exc)
            seconds = 0
    if access is None:
        access = _read_access(user)
        if seconds > 0:
            try:
                cache.set(key, access, seconds)
            except RedisError as exc:
                logger.warning("access not cached, the cache is unreachable: %s", exc)
    user.__dict__["_access_cache"] = access
    return access


def _read_access(user: Any) -> Access:
    names = frozenset(user.groups.values_list("name", flat=True))
    permissions = frozenset(ModelBackend().get_all_permissions(user))
    return {"groups": names, "permissions": permissions}


def forget(user_ids: Iterable[Any]) -> None:
    """Drop the cached access of these users, now and after the transaction commits."""
    keys = [
        _key(pk, joined.isoformat())
        for pk, joined in User.objects.filter(pk__in=list(user_ids)).values_list(
            "pk", "date_joined"
        )
    ]
    _drop(keys)
    if keys:
        transaction.on_commit(lambda: _drop(keys), robust=True)


def _drop(keys: list[str]) -> None:
    if not keys:
        return
    try:
        cache.delete_many(keys)
    except RedisError as exc:
        logger.warning("cached access not dropped, the cache is unreachable: %s", exc)


def _users_of_groups(group_ids: Iterable[Any]) -> list[Any]:
    return list(User.objects.filter(groups__in=list(group_ids)).values_list("pk", flat=True))


def _users_with_permissions(permission_ids: Iterable[Any]) -> list[Any]:
    ids = list(permission_ids)
    holders = User.objects.filter(Q(user_permissions__in=ids) | Q(groups__permissions__in=ids))
    return list(holders.values_list("pk", flat=True).distinct())


def _memberships_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any
) -> None:
    """A user's groups (or a group's users) changed; so did the users' groups and perms."""
    if action not in {"post_add", "post_remove", "pre_clear"}:
        return
    if not reverse:  # user.groups.add(...)
        forget([instance.pk])
    elif action == "pre_clear":  # group.user_set.clear(): who is in it, before
        forget(_users_of_groups([instance.pk]))
    else:
        forget(pk_set)


def _user_permissions_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any
) -> None:
    if action not in {"post_add", "post_remove", "pre_clear"}:
        return
    if not reverse:  # user.user_permissions.add(...)
        forget([instance.pk])
    elif action == "pre_clear":  # permission.user_set.clear()
        forget(User.objects.filter(user_permissions=instance).values_list("pk", flat=True))
    else:
        forget(pk_set)


def _group_permissions_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any
) -> None:
    if action not in {"post_add", "post_remove", "pre_clear"}:
        return
    if not reverse:  # group.permissions.add(...)
        forget(_users_of_groups([instance.pk]))
    elif action == "pre_clear":  # permission.group_set.clear()
        forget(_users_of_groups(instance.group_set.values_list("pk", flat=True)))
    else:
        forget(_users_of_groups(pk_set))


def _user_changed(sender: Any, instance: User, **kwargs: Any) -> None:
    _drop([_user_key(instance)])


def _group_changed(sender: Any, instance: Group, **kwargs: Any) -> None:
    forget(_users_of_groups([instance.pk]))


def _permission_changed(sender: Any, instance: Permission, **kwargs: Any) -> None:
    forget(_users_with_permissions([instance.pk]))


def connect_signals() -> None:
    """Called once, when the apps are ready (`core.apps`)."""
    uid = "core.access"
    m2m_changed.connect(_memberships_changed, sender=User.groups.through, dispatch_uid=uid)
    m2m_changed.connect(
        _user_permissions_changed, sender=User.user_permissions.through, dispatch_uid=uid
    )
    m2m_changed.connect(
        _group_permissions_changed, sender=Group.permissions.through, dispatch_uid=uid
    )
    for signal in (post_save, post_delete):
        signal.connect(_user_changed, sender=User, dispatch_uid=uid)
    post_save.connect(_group_changed, sender=Group, dispatch_uid=uid)
    pre_delete.connect(_group_changed, sender=Group, dispatch_uid=uid)
    post_save.connect(_permission_changed, sender=Permission, dispatch_uid=uid)
    pre_delete.connect(_permission_changed, sender=Permission, dispatch_uid=uid)
