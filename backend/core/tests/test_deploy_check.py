"""The settings pass Django's deployment checks when configured as in production, and refuse to
start without a secret key.

Each check runs `manage.py` in a fresh process, because the settings are read from the environment
once, when they are imported.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

BACKEND_DIR = Path(__file__).resolve().parents[2]

# Variables that change what the settings do; the tests decide them, whatever the shell exported.
SETTINGS_VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "HTTPS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "BEHIND_PROXY",
    "DJANGO_SETTINGS_MODULE",
)


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `manage.py` with this environment less the settings variables, plus `env`."""
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BACKEND_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_checks() -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),  # about 67 characters, as Django's check wants
        ALLOWED_HOSTS="example.com",
        # HTTPS is left unset: outside DEBUG it defaults to on (secure cookies, HSTS, redirect).
        DATABASE_URL=os.environ["DATABASE_URL"],
        REDIS_URL=os.environ["REDIS_URL"],
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "no issues" in output, output


def test_settings_refuse_to_load_without_a_secret_key() -> None:
    result = manage(
        "check",
        DEBUG="false",
        DATABASE_URL=os.environ["DATABASE_URL"],
        REDIS_URL=os.environ["REDIS_URL"],
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Set SECRET_KEY" in output, output
