"""The ways to sign in besides the dashboard's session (`core.session`), under the sign-in
throttles: the token endpoint, and the HTML forms of the browsable API and of Django's admin."""

from django.contrib import admin
from django.contrib.auth.views import LoginView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.views import APIView

from .throttling import SIGN_IN_THROTTLES, throttle_sign_in


class TokenView(ObtainAuthToken):
    """POST `username` and `password`: `{"token": "..."}`, the user's API token (DRF's view)."""

    throttle_classes = [*SIGN_IN_THROTTLES, *APIView.throttle_classes]


browsable_api_login = throttle_sign_in(LoginView.as_view(template_name="rest_framework/login.html"))
admin_login = throttle_sign_in(admin.site.login)
