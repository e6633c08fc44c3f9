"""The OpenAPI schema (drf-spectacular) with the errors the API really answers.

drf-spectacular documents the answers a view's serializers give, and no error at all. The API's
errors come from layers every view shares (authentication, the roles, the throttles, the parsers
and the body limits, pagination, `core.exceptions`), so `AutoSchema` (DEFAULT_SCHEMA_CLASS)
adds them to each operation from what its view is made of:

- 400 when the operation takes a body or query parameters: DRF's field map
  `{"field": ["..."]}`, or `{"detail": "..."}`;
- 401 when an anonymous request, or a wrong token, is refused (`WWW-Authenticate: Token`);
- 403 when a role may be refused (`core.permissions.RolePermission`), or a session's write
  fails its CSRF check;
- 404 for an operation on one object (a path parameter) or on a page of a list (`?page=`);
- 413 and 415 when it takes a body: over MAX_BODY_BYTES (an upload's MAX_UPLOAD_BYTES,
  `core.body_limits`), or of a content type its parsers do not read;
- 429 when the view has throttles (`core.throttling`), with `Retry-After`.

Errors that one view alone gives (409, 503) are declared on that view, with `error_response`.
Every error body but the 400's is `{"detail": "..."}` (the `Error` component).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ComponentRegistry, ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import AllowAny

from .permissions import RolePermission

Schema = dict[str, Any]
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ErrorSerializer(serializers.Serializer[Any]):
    """The body of every error but a 400's (`core.exceptions`, `core.views`)."""

    detail = serializers.CharField(help_text="What went wrong, and what to do, in words.")


def error_response(description: str) -> OpenApiResponse:
    """An error of one view (`@extend_schema(responses={409: error_response("...")})`)."""
    return OpenApiResponse(ErrorSerializer, description=description)


# The answer of an endpoint that queues a job when the broker is down (`jobs.services`).
QUEUE_UNAVAILABLE = error_response(
    "The task queue is unavailable, so nothing was queued: try again shortly."
)


def event_stream(data: str) -> OpenApiResponse:
    """A `text/event-stream` answer, as OpenAPI 3.2 (and schemathesis) read one: the schema is
    that of each event, whose `data` is described by `data`."""
    event = {
        "type": "object",
        "properties": {
            "data": {"type": "string", "description": data},
            "event": {"type": "string"},
            "id": {"type": "string"},
            "retry": {"type": "integer", "description": "Milliseconds before a reconnection."},
        },
        "required": ["data"],
    }
    return OpenApiResponse(event, description="Server-Sent Events, one per change.")


# DRF's ValidationError: a message per field, which is a list of strings (a map of them for a
# nested field); or `{"detail": "..."}` for a refusal of the whole input.
VALIDATION_ERROR: Schema = {
    "type": "object",
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {}},
            {"type": "object", "additionalProperties": {}},
        ]
    },
    "example": {"sku": ["This field is required."]},
}
RETRY_AFTER: Schema = {
    "schema": {"type": "integer"},
    "description": "Seconds to wait before the next request counts again.",
}
WWW_AUTHENTICATE: Schema = {
    "schema": {"type": "string"},
    "description": "`Token`: how to authenticate (a session works too).",
}


@dataclass(frozen=True)
class SharedError:
    """A shared error's response, a component of the schema (`#/components/responses/<name>`)."""

    name: str
    description: str
    headers: Schema = field(default_factory=dict)


SHARED_ERRORS = {
    "400": SharedError(
        "BadRequest", "The input is not valid: a list of messages per field, or `detail`."
    ),
    "401": SharedError(
        "Unauthorized",
        "Not signed in, or the token is wrong: send `Authorization: Token <token>`.",
        {"WWW-Authenticate": WWW_AUTHENTICATE},
    ),
    "403": SharedError(
        "Forbidden",
        "The user's role may not do this (`detail` says which role would), or a session's "
        "write failed its CSRF check.",
    ),
    "404": SharedError("NotFound", "No such object, or no such page."),
    "413": SharedError(
        "PayloadTooLarge",
        "The body is larger than the limit (MAX_BODY_BYTES; an upload's MAX_UPLOAD_BYTES).",
    ),
    "415": SharedError(
        "UnsupportedMediaType", "The body's Content-Type is not one this operation reads."
    ),
    "429": SharedError(
        "TooManyRequests",
        "Over a rate limit (`detail` says which): try again after `Retry-After` seconds.",
        {"Retry-After": RETRY_AFTER},
    ),
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema, with the shared errors of the module's docstring."""

    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: ComponentRegistry,
    ) -> Schema | None:
        operation: Schema | None = super().get_operation(
            path, path_regex, path_prefix, method, registry
        )
        if operation is None:
            return None
        responses: Schema = operation["responses"]
        for code in self.error_codes(operation):
            responses.setdefault(code, self.error(code))
        return operation

    def error_codes(self, operation: Schema) -> list[str]:
        """The shared errors this operation may answer, as status codes."""
        view = self.view
        parameters = operation.get("parameters", [])
        takes_body = "requestBody" in operation
        authenticators = view.authentication_classes
        permissions = view.permission_classes
        codes = {
            "400": takes_body or any(p["in"] == "query" for p in parameters),
            "401": not all(_is(p, AllowAny) for p in permissions)
            or any(_is(a, TokenAuthentication) for a in authenticators),
            "403": any(_is(p, RolePermission) for p in permissions)
            or (
                self.method not in SAFE_METHODS
                and any(_is(a, SessionAuthentication) for a in authenticators)
            ),
            "404": any(p["in"] == "path" or p["name"] == "page" for p in parameters),
            "413": takes_body,
            "415": takes_body,
            "429": bool(view.throttle_classes),
        }
        return [code for code, applies in codes.items() if applies]

    def error(self, code: str) -> Schema:
        """A reference to the shared error's response, registered on first use."""
        shared = SHARED_ERRORS[code]
        if code == "400":
            body = self._component(ResolvedComponent.SCHEMA, "ValidationError", VALIDATION_ERROR)
        else:
            body = self.resolve_serializer(ErrorSerializer, "response").ref
        response: Schema = {
            "description": shared.description,
            "content": {"application/json": {"schema": body}},
        }
        if shared.headers:
            response["headers"] = shared.headers
        return self._component(ResolvedComponent.RESPONSE, shared.name, response)

    def _component(self, kind: str, name: str, schema: Schema) -> Schema:
        component = ResolvedComponent(  # type: ignore[no-untyped-call]
            name=name, type=kind, schema=schema, object=name
        )
        self.registry.register_on_missing(component)
        ref: Schema = component.ref
        return ref


def _is(candidate: object, base: type) -> bool:
    """Whether `candidate` is `base` or a subclass of it; a composed permission (`A & B`) is
    neither."""
    return isinstance(candidate, type) and issubclass(candidate, base)
