"""Session sign-in for the dashboard: who is signed in, sign in, sign out (JSON, CSRF-protected).

Curl and scripts use tokens (`/api/auth/token/`); the browsable API has its own HTML login under
`/api/auth/login/`. The dashboard, a page of this same site, signs in with a session cookie and
sends the CSRF token (cookie `csrftoken`, header `X-CSRFToken`) with every write.
"""

from typing import Any

from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .roles import ROLE_NAMES, permissions_of, role_of
from .throttling import SIGN_IN_THROTTLES


class CredentialsSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


SESSION_SCHEMA = inline_serializer(
    "Session",
    {
        "user": inline_serializer(
            "SessionUser",
            {
                "id": serializers.IntegerField(),
                "username": serializers.CharField(),
                "is_staff": serializers.BooleanField(),
                "role": serializers.ChoiceField(choices=ROLE_NAMES, allow_null=True),
                "permissions": serializers.ListField(child=serializers.CharField()),
            },
            allow_null=True,
        )
    },
)


def _session(user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    if not user.is_authenticated:
        return {"user": None}
    return {
        "user": {
            "id": user.pk,
            "username": user.get_username(),
            "is_staff": bool(getattr(user, "is_staff", False)),
            "role": role_of(user),
            "permissions": permissions_of(user),
        }
    }


@method_decorator(ensure_csrf_cookie, name="dispatch")
class SessionView(APIView):
    """`GET`: the signed-in user, or `{"user": null}` (200 either way, and the CSRF cookie);
    `POST` username and password: sign in; `DELETE`: sign out.

    The user comes with its `role` (`viewer`, `editor`, `admin`, or null for none) and the
    `permissions` it holds (`app_label.codename`, see `core.roles`), so that the dashboard can
    leave out or disable what the role may not do.

    `POST` checks the CSRF token even though nobody is signed in yet, so another site cannot sign a
    visitor in to an account of its choosing.
    """

    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]
    # Sign-in attempts (POST) per address and per username, besides the rates of every request.
    throttle_classes = [*SIGN_IN_THROTTLES, *APIView.throttle_classes]

    @extend_schema(responses={200: SESSION_SCHEMA})
    def get(self, request: Request) -> Response:
        return Response(_session(request.user))

    @extend_schema(request=CredentialsSerializer, responses={200: SESSION_SCHEMA})
    def post(self, request: Request) -> Response:
        SessionAuthentication().enforce_csrf(request)
        credentials = CredentialsSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=credentials.validated_data["username"],
            password=credentials.validated_data["password"],
        )
        if user is None:
            return Response(
                {"detail": "The username or the password is not right."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        login(request._request, user)
        return Response(_session(user))

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
