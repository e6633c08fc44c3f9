"""The three roles, `viewer`, `editor` and `admin`: Django groups, each with a set of permissions.

Access follows Django's permissions (`user.has_perm`); a role is the group that bundles them, and
its name is what the dashboard shows and the 403s say. Each role holds the one before it:

- viewer: reads products (list, one, export), jobs (history, status, live progress, a dry
  run's changes) and import profiles;
- editor: also writes products one at a time, imports, keeps import profiles, and acts on the
  jobs it started (retry, apply; the cancel and revert to come take the same permission);
- admin: also deletes all products, manages webhooks and users, acts on anyone's jobs, and
  downloads anyone's error reports.

A Django superuser counts as an admin whatever its groups. A user in none of the groups has no
role, and may do nothing but sign in and out. `core/migrations/0001_roles.py` makes the groups
(and gives existing users a role); a missing group is made again after each `migrate` and
`flush` (`core.apps`), but a group that exists keeps the permissions it has: a change to this
table needs a migration that applies it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import (
    AbstractBaseUser,
    AnonymousUser,
    Group,
    Permission,
    PermissionsMixin,
)

from .access import access_of

VIEWER = "viewer"
EDITOR = "editor"
ADMIN = "admin"
# Lowest first: each role holds the permissions of the ones before it.
ROLE_NAMES = (VIEWER, EDITOR, ADMIN)

_VIEWER_PERMISSIONS = frozenset(
    {"products.view_product", "imports.view_job", "imports.view_importprofile"}
)
_EDITOR_PERMISSIONS = _VIEWER_PERMISSIONS | {
    "products.add_product",
    "products.change_product",
    "products.delete_product",
    "imports.import_products",
    "imports.act_on_own_job",
    "imports.add_importprofile",
    "imports.change_importprofile",
    "imports.delete_importprofile",
}
_ADMIN_PERMISSIONS = _EDITOR_PERMISSIONS | {
    "imports.delete_all_products",
    "imports.act_on_any_job",
    "imports.view_any_job_files",
    "webhooks.view_webhook",
    "webhooks.add_webhook",
    "webhooks.change_webhook",
    "webhooks.delete_webhook",
    # Django's admin pages for users and their API tokens; the groups are the roles, read-only.
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
    "auth.delete_user",
    "auth.view_group",
    "authtoken.view_tokenproxy",
    "authtoken.add_tokenproxy",
    "authtoken.delete_tokenproxy",
}
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    VIEWER: _VIEWER_PERMISSIONS,
    EDITOR: _EDITOR_PERMISSIONS,
    ADMIN: _ADMIN_PERMISSIONS,
}
# Every permission a role may hold: what the session lists, for the dashboard.
ALL_ROLE_PERMISSIONS = _ADMIN_PERMISSIONS

AnyUser = AbstractBaseUser | AnonymousUser


def role_of(user: AnyUser) -> str | None:
    """The highest role of a signed-in, active user; None for anonymous users and users in no
    role's group. A superuser is an admin."""
    if not (user.is_authenticated and user.is_active and isinstance(user, PermissionsMixin)):
        return None
    if user.is_superuser:
        return ADMIN
    names = access_of(user)["groups"]  # cached between requests (core.access)
    return next((name for name in reversed(ROLE_NAMES) if name in names), None)


def permissions_of(user: AnyUser) -> list[str]:
    """The role permissions the user has, sorted (`app_label.codename`)."""
    if not isinstance(user, PermissionsMixin):  # anonymous
        return []
    return sorted(p for p in ALL_ROLE_PERMISSIONS if user.has_perm(p))


def least_role_with(permission: str) -> str:
    """The lowest role that holds `permission` (admin if none does)."""
    return next((r for r in ROLE_NAMES if permission in ROLE_PERMISSIONS[r]), ADMIN)


def assign_role(user: Any, role: str) -> None:
    """Put a saved user in `role`'s group and out of the other roles' groups.

    An admin gets `is_staff` (to reach Django's admin pages); anyone else loses it, unless a
    superuser. Raises ValueError for an unknown role.
    """
    if role not in ROLE_NAMES:
        raise ValueError(f"Unknown role {role!r}: choose one of {', '.join(ROLE_NAMES)}.")
    groups = ensure_role_groups(Group, Permission)
    user.groups.remove(*(groups[name] for name in ROLE_NAMES if name != role))
    user.groups.add(groups[role])
    staff = role == ADMIN or user.is_superuser
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
    for cache in ("_access_cache", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)


def ensure_role_groups(
    group_model: Any, permission_model: Any, *, skip_missing: bool = False
) -> dict[str, Any]:
    """The role groups by name, each made with its permissions if it is missing.

    Takes the models as arguments so that a migration can pass its historical ones. A group that
    exists is left as it is. Raises LookupError if a permission of the table does not exist yet,
    unless `skip_missing` (the first migration's, before later models' migrations, which grant
    their permissions themselves).
    """
    groups = {}
    for name in ROLE_NAMES:
        group, created = group_model.objects.get_or_create(name=name)
        if created:
            wanted = ROLE_PERMISSIONS[name]
            group.permissions.set(_permissions(permission_model, wanted, skip_missing))
        groups[name] = group
    return groups


def _permissions(permission_model: Any, names: frozenset[str], skip_missing: bool) -> list[Any]:
    found = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in permission_model.objects.select_related("content_type").filter(
            codename__in={name.split(".", 1)[1] for name in names}
        )
    }
    missing = sorted(names - found.keys())
    if missing and not skip_missing:
        raise LookupError(f"These permissions do not exist (migrate first): {', '.join(missing)}")
    return [found[name] for name in sorted(names) if name in found]
