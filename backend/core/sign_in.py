"""The ways to sign in besides the dashboard's session (`core.session`), under the sign-in
throttles: the token endpoint, and the HTML forms of the browsable API and of Django's admin;
and the log line of a failed sign-in, whichever way it came."""

import logging
from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.http import HttpRequest
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from .throttling import SIGN_IN_THROTTLES, throttle_sign_in


class TokenView(ObtainAuthToken):
    """POST `username` and `password`: `{"token": "..."}`, the user's API token (DRF's view)."""

    throttle_classes = [*SIGN_IN_THROTTLES, *APIView.throttle_classes]


browsable_api_login = throttle_sign_in(LoginView.as_view(template_name="rest_framework/login.html"))
admin_login = throttle_sign_in(admin.site.login)


logger = logging.getLogger(__name__)


def log_failed_sign_in(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Django's `user_login_failed`: one WARNING with the username (quoted, so that a name cannot
    forge a log line) and the client's address as the throttles count it; never the password."""
    # get_ident reads only META, which a Django request and a DRF request both have.
    address = BaseThrottle().get_ident(cast(Request, request)) if request is not None else "?"
    logger.warning("sign-in failed for username %r from %s", credentials.get("username"), address)
