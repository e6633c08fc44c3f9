"""The API's JSON parser: DRF's, with a size limit and a nesting bound checked before parsing.

Python's `json` module recurses once per level of nesting, so a body of 100,000 `[` ends in a
RecursionError (a 500) rather than a 400. The nesting is measured first instead, in linear passes
over the bytes at C speed (the strings taken out, then the brackets counted), and a body nested
deeper than MAX_JSON_DEPTH is a 400. The size limit is MAX_BODY_BYTES, which the ASGI guard
(`core.body_limits`) already holds every body to as it arrives; the parser holds it too for
requests that come another way (the WSGI entry point, the test client).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from itertools import accumulate
from typing import IO, Any, Final

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import APIException, ParseError

MAX_JSON_DEPTH: Final = 32

_NOT_BRACKETS: Final = bytes(set(range(256)) - set(b"[]{}"))
_STEP: Final = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_SLICE: Final = 4096


class BodyTooLarge(APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "body_too_large"


def nests_deeper_than(data: bytes, levels: int) -> bool:
    """Whether arrays and objects nest more than `levels` deep in the JSON text `data`."""
    if data.count(b"[") + data.count(b"{") <= levels:
        return False  # most bodies: too few brackets to nest that deep
    # Escaped backslashes, then escaped quotes, out: the quotes left open and close strings in
    # turn, so every other piece between them is outside strings.
    unescaped = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(unescaped.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    depth = 0
    for start in range(0, len(brackets), _SLICE):  # slices, so that a deep body stops early
        steps = map(_STEP.__getitem__, brackets[start : start + _SLICE])
        depths = list(accumulate(steps, initial=depth))
        if max(depths) > levels:
            return True
        depth = depths[-1]
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; a body over MAX_BODY_BYTES is a 413, one nested deeper than
    MAX_JSON_DEPTH a 400."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        limit: int = settings.MAX_BODY_BYTES
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise BodyTooLarge(f"The request body is larger than the limit of {limit:,} bytes.")
        if nests_deeper_than(data, MAX_JSON_DEPTH):
            raise ParseError(
                f"JSON parse error - arrays and objects nest more than {MAX_JSON_DEPTH} levels "
                "deep."
            )
        return super().parse(io.BytesIO(data), media_type, parser_context)
