"""Who may call what: each API view names the permission of each of its actions.

`RolePermission` is the default permission class (settings). A view lists a `Rule` per action
in `required_permissions`, keyed by the viewset's action (`list`, `create`, `retry`, ...) or, in
a plain APIView, by the HTTP method (`get`, `post`). A view or action without a rule is refused
(403), so a new endpoint is closed until someone decides who may use it (the role matrix test
fails meanwhile). Anonymous requests get DRF's 401; a refused signed-in user gets a 403 that
says which role would do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser, User
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission

from .roles import ADMIN, ROLE_NAMES, least_role_with, role_of

if TYPE_CHECKING:  # DRF's views import this module (a default permission class) as they load
    from rest_framework.request import Request
    from rest_framework.views import APIView


@dataclass(frozen=True)
class Rule:
    """The permission an action needs (`app_label.codename`; None: any role will do).

    With `own_permission`, that permission is enough on the objects the user owns: those whose
    `owner_field` (an attribute the view names, e.g. `created_by_id`) is the user's id. `verb`
    completes "may not ..."; `own_verb` says the same of one object ("retry this job").
    """

    permission: str | None
    verb: str
    own_permission: str | None = None
    own_verb: str = ""

    def least_role(self) -> str:
        candidates = [p for p in (self.permission, self.own_permission) if p]
        if not candidates:
            return ROLE_NAMES[0]
        return min((least_role_with(p) for p in candidates), key=ROLE_NAMES.index)


ANY_ROLE = Rule(None, "use the API")


def rule_for(view: APIView, method: str) -> Rule | None:
    """The rule of the action that `method` calls on `view`, or None if it has none."""
    rules: Mapping[str, Rule] = getattr(view, "required_permissions", {})
    method = method.lower()
    if method == "options":  # the view's description; its write actions are checked one by one
        return ANY_ROLE
    action_map: Mapping[str, str] | None = getattr(view, "action_map", None)
    if action_map is not None:  # a viewset: by action
        action = action_map.get(method)
        return rules.get(action) if action else None
    return rules.get("get" if method == "head" else method)


def signed_in_user(request: Request) -> User:
    """The request's user, whom the permission class let in: never anonymous."""
    user = request.user
    if isinstance(user, AnonymousUser):
        raise NotAuthenticated
    return user


def refusal(user: Any, rule: Rule) -> str:
    """Why `user` may not do what `rule` guards, in words."""
    role = role_of(user)
    least = rule.least_role()
    if role is None:
        return (
            f"Your account has no role, so it may not {rule.verb}: ask an admin for the {least} "
            "role."
        )
    if least == ADMIN:
        return f"Only an admin may {rule.verb}; your role is {role}."
    return f"Your role ({role}) may not {rule.verb}: ask an admin for the {least} role."


class RolePermission(BasePermission):
    """The rule of the view's action, for a signed-in user; see the module's docstring."""

    message = "You may not do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False  # DRF answers 401 (with WWW-Authenticate)
        rule = rule_for(view, request.method or "")
        if rule is None:
            self.message = "No role may do this yet: this endpoint has no permission rule."
            return False
        if rule.permission is None:
            allowed = role_of(user) is not None
        else:
            allowed = user.has_perm(rule.permission) or bool(
                rule.own_permission and user.has_perm(rule.own_permission)
            )
        if not allowed:
            self.message = refusal(user, rule)
        return allowed

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        rule = rule_for(view, request.method or "")
        if rule is None or rule.own_permission is None:
            return True  # has_permission decided
        user = request.user
        if rule.permission is not None and user.has_perm(rule.permission):
            return True
        owner_field: str = getattr(view, "owner_field", "")
        if not owner_field or getattr(obj, owner_field) != user.pk:
            self.message = f"Only an admin, or the user who started it, may {rule.own_verb}."
            return False
        if not user.has_perm(rule.own_permission):
            self.message = refusal(user, rule)
            return False
        return True
