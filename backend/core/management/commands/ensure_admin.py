"""Make sure an admin account exists, with an API token: a superuser, in the `admin` role.

The username and password come from ADMIN_USERNAME / ADMIN_PASSWORD when set; otherwise the account
`admin` gets a generated password, once, kept in `<DATA_DIR>/admin-password` (git-ignored, readable
by its owner only) so that `make run` can show it again. `--new-password` generates a new one.
"""

import json
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from rest_framework.authtoken.models import Token

from core.private_files import write_private
from core.roles import ADMIN, assign_role


class Command(BaseCommand):
    help = "Create the admin account (and its API token) if it does not exist."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the login as JSON.")
        parser.add_argument(
            "--new-password", action="store_true", help="Give the account a new generated password."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("ADMIN_USERNAME") or "admin"
        password = os.environ.get("ADMIN_PASSWORD") or ""
        password_file = Path(os.environ.get("DATA_DIR") or settings.REPO_DIR / ".data") / (
            "admin-password"
        )
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if options["new_password"] or (user is None and not password):
            password = secrets.token_urlsafe(12)
            write_private(password_file, password)
        if user is None:
            user = user_model.objects.create_superuser(username=username, password=password)
        elif password and not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        if not user.is_superuser:
            user.is_superuser = True
            user.save(update_fields=["is_superuser"])
        assign_role(user, ADMIN)
        if not password and password_file.exists():
            remembered = password_file.read_text().strip()
            password = remembered if user.check_password(remembered) else ""
        token, _ = Token.objects.get_or_create(user=user)
        login = {"username": username, "password": password, "token": token.key}
        if options["json"]:
            self.stdout.write(json.dumps(login))
        else:
            self.stdout.write(
                f"Login: {username} / {password or '(unchanged)'}\nToken: {token.key}"
            )
