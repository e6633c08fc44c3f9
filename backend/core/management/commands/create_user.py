"""`manage.py create_user NAME --role ROLE`: a user with a role (viewer, editor or admin).

The password is asked for twice (checked by Django's password validators), given with
`--password`, or, with `--generate-password`, made up and printed once. The user also gets an API
token, printed with `--token`.
"""

import getpass
import secrets
import sys
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from core.roles import ROLE_NAMES, assign_role


class Command(BaseCommand):
    help = "Create a user with a role: viewer (reads), editor (also writes and imports), admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help=f"One of {', '.join(ROLE_NAMES)}.")
        password = parser.add_mutually_exclusive_group()
        password.add_argument("--password", help="The password (else it is asked for).")
        password.add_argument(
            "--generate-password", action="store_true", help="Make one up and print it once."
        )
        parser.add_argument("--email", default="")
        parser.add_argument("--token", action="store_true", help="Print the user's API token.")

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        role: str = options["role"]
        if role not in ROLE_NAMES:
            raise CommandError(
                f"There is no role {role!r}: the roles are {', '.join(ROLE_NAMES)} "
                "(viewer reads, editor also writes and imports, admin may do everything)."
            )
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            raise CommandError(
                f"The user {username!r} exists already: change its role with "
                f"`manage.py set_role {username} {role}`."
            )
        generated = options["generate_password"]
        password = secrets.token_urlsafe(12) if generated else options["password"]
        if password is None:
            password = self._ask_password()
        candidate = user_model(username=username, email=options["email"])
        try:
            password_validation.validate_password(password, candidate)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        with transaction.atomic():
            user = user_model.objects.create_user(
                username=username, email=options["email"], password=password
            )
            assign_role(user, role)
            token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(f"Created {username} ({role}).")
        if generated:
            self.stdout.write(f"Password: {password} (shown once: keep it now)")
        if options["token"]:
            self.stdout.write(f"Token: {token.key}")

    def _ask_password(self) -> str:
        if not sys.stdin.isatty():
            raise CommandError("Give --password or --generate-password: there is no terminal.")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ: nothing was created.")
        return password
