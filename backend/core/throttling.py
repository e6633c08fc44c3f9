"""Rate limits, through DRF's throttles on the shared cache (Redis, `CACHES` in settings).

Each throttle keeps, per key, the times of its recent requests (DRF's `SimpleRateThrottle`); over
its rate, the request is answered 429 with `Retry-After` and a `detail` that says which limit it
met. The rates are `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`, read from the environment
(`THROTTLE_*`, see `.env.example`), as "10/minute" (second, minute, hour, day) or "off".

- every API request: `AnonThrottle` per client address while anonymous, `UserThrottle` per user;
- sign-in and token requests (POST): `SignInAddressThrottle` and `SignInUsernameThrottle`, also
  on the browsable API's and the admin's HTML sign-in forms (`throttle_sign_in`);
- starting jobs (upload, bulk delete, retry): `JobsThrottle` per user.

The client address is REMOTE_ADDR, or with `NUM_PROXIES` = n > 0 the n-th address from the right
of X-Forwarded-For (DRF's `get_ident`). While the cache is unreachable, requests are let through
and a warning is logged: reading the catalog does not depend on Redis.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class Throttled(exceptions.Throttled):
    extra_detail_singular = "Try again in {wait} second."
    extra_detail_plural = "Try again in {wait} seconds."


class RateThrottle(SimpleRateThrottle):
    """DRF's throttle, with its rate read when it is used, and words of its own."""

    words = "Too many requests."
    duration: int  # of the rate, in seconds (SimpleRateThrottle sets it)

    def get_rate(self) -> str | None:
        # Read per request, not at import as DRF's THROTTLE_RATES is, so tests may change it.
        rate = str(api_settings.DEFAULT_THROTTLE_RATES[str(self.scope)])
        return None if rate == "off" else rate

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except RedisError as exc:
            logger.warning("throttle %s skipped, the cache is unreachable: %s", self.scope, exc)
            return True

    def throttle_failure(self) -> bool:
        wait = self.wait()  # None when the rate was lowered below the requests kept
        raise Throttled(wait=max(self.duration if wait is None else wait, 1), detail=self.words)

    def cache_key_for(self, ident: object) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonThrottle(RateThrottle):
    """Anonymous requests, per client address."""

    scope = "anon"
    words = "Too many requests from your address."

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_key_for(self.get_ident(request))


class PerUserThrottle(RateThrottle):
    """Counted per signed-in user; anonymous requests are left to AnonThrottle."""

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_key_for(request.user.pk)


class UserThrottle(PerUserThrottle):
    """Every request of a signed-in user: a rate that a person never meets, a runaway script
    does."""

    scope = "user"
    words = "Too many requests from your account."


class JobsThrottle(PerUserThrottle):
    """Jobs started (uploads, bulk deletes, retries), per user."""

    scope = "jobs"
    words = "You started too many jobs (imports, deletes, retries) in a short time."


class SignInAddressThrottle(RateThrottle):
    """Sign-in attempts (POST), per client address."""

    scope = "sign_in_address"
    words = "Too many sign-in attempts from your address."

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.method != "POST":
            return None
        return self.cache_key_for(self.get_ident(request))


class SignInUsernameThrottle(RateThrottle):
    """Sign-in attempts (POST), per username, from any address."""

    scope = "sign_in_username"
    words = "Too many sign-in attempts for this username."

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.method != "POST":
            return None
        data = request.data if isinstance(request, Request) else request.POST
        username = data.get("username") if isinstance(data, Mapping) else None
        if not isinstance(username, str) or not username.strip():
            return None
        # Hashed: a cache key of any length and characters.
        return self.cache_key_for(hashlib.sha256(username.strip().casefold().encode()).hexdigest())


SIGN_IN_THROTTLES: tuple[type[RateThrottle], ...] = (SignInAddressThrottle, SignInUsernameThrottle)


def throttle_sign_in(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A Django sign-in view (an HTML form) under the sign-in throttles: 429 as JSON."""

    @functools.wraps(view)
    def throttled(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            for throttle in SIGN_IN_THROTTLES:
                throttle().allow_request(request, None)
        except Throttled as exc:
            response = JsonResponse({"detail": str(exc.detail)}, status=exc.status_code)
            response["Retry-After"] = str(getattr(exc, "wait", ""))
            return response
        return view(request, *args, **kwargs)

    return throttled
