"""`manage.py set_role NAME ROLE`: give an existing user another role (viewer, editor, admin)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.roles import ROLE_NAMES, assign_role, role_of


class Command(BaseCommand):
    help = "Give a user a role: viewer, editor or admin (its other roles are taken away)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", help=f"One of {', '.join(ROLE_NAMES)}.")

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        role: str = options["role"]
        if role not in ROLE_NAMES:
            raise CommandError(f"There is no role {role!r}: the roles are {', '.join(ROLE_NAMES)}.")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(
                f"There is no user {username!r}: make one with "
                f"`manage.py create_user {username} --role {role}`."
            )
        with transaction.atomic():
            assign_role(user, role)
        if user.is_superuser and role != role_of(user):
            self.stdout.write(
                f"{username} is in the {role} group, but stays an admin: a superuser is one "
                "whatever its groups (take away its superuser status in /admin/ first)."
            )
        else:
            self.stdout.write(f"{username} is now {role}.")
