"""The options of an import, as an upload, a retry and a saved profile give them.

An upload's multipart fields beside `file` (`dry_run`, `on_error`, `update_existing`,
`mapping`, `profile`) are checked here; a profile's options apply unless a field overrides them,
and the defaults fill the rest. The job keeps the options as applied (`Job.options`), and the
engine gets them as `ImportOptions`.
"""

from __future__ import annotations

import json
from typing import Any, Final

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from .engine import ImportOptions
from .engine.header import FIELDS
from .models import ImportProfile

MAX_MAPPED_COLUMNS: Final = 200
MAX_COLUMN_NAME: Final = 255
DEFAULTS: Final[dict[str, Any]] = {
    "on_error": ImportProfile.OnError.SKIP.value,
    "update_existing": True,
    "mapping": None,
    "profile": None,
}


class FormBoolean(serializers.BooleanField):
    """A boolean whose absence from a form means "not given", not False (as a checkbox's)."""

    default_empty_html = empty


def check_mapping(value: Any) -> dict[str, str | None] | None:
    """A mapping as JSON text (a form field) or an object: column name -> field or null."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise serializers.ValidationError(f"Not valid JSON: {exc.msg}.") from None
    if not isinstance(value, dict):
        raise serializers.ValidationError(
            'Give an object from a column of the file to a field, e.g. {"Item Code": "sku"}.'
        )
    if len(value) > MAX_MAPPED_COLUMNS:
        raise serializers.ValidationError(f"At most {MAX_MAPPED_COLUMNS} columns can be mapped.")
    seen: dict[str, str] = {}
    for column, field in value.items():
        if not column.strip() or len(column) > MAX_COLUMN_NAME:
            raise serializers.ValidationError(
                f"Column names must be 1 to {MAX_COLUMN_NAME} characters: {column[:40]!r}."
            )
        if field is None:
            continue
        if not isinstance(field, str) or field not in FIELDS:
            raise serializers.ValidationError(
                f"'{column}' maps to {field!r}: map a column to one of "
                f"{', '.join(FIELDS)}, or to null to ignore it."
            )
        if field in seen:
            raise serializers.ValidationError(
                f"'{seen[field]}' and '{column}' both map to {field}: map one column to each field."
            )
        seen[field] = column
    return value


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "additionalProperties": {"type": "string", "enum": [*FIELDS, None], "nullable": True},
        "description": "A column of the file, as its header names it, to a field or null.",
    }
)
class MappingField(serializers.Field):  # type: ignore[type-arg]
    default_error_messages = {"invalid": "Not a valid mapping."}

    def to_internal_value(self, data: Any) -> dict[str, str | None] | None:
        return check_mapping(data)

    def to_representation(self, value: Any) -> Any:
        return value


class ImportOptionsSerializer(serializers.Serializer[Any]):
    """The options of an upload or a retry; each is optional."""

    dry_run = FormBoolean(
        required=False, help_text="true: only report what the import would change."
    )
    on_error = serializers.ChoiceField(
        choices=ImportProfile.OnError.choices,
        required=False,
        help_text="skip (default): leave bad rows out; abort: import nothing if a row is bad.",
    )
    update_existing = FormBoolean(
        required=False,
        help_text="true (default): overwrite products whose SKU exists; false: create only.",
    )
    mapping = MappingField(
        required=False,
        allow_null=True,
        help_text="JSON: a column of the file to sku, name, description, active or null.",
    )
    profile = serializers.PrimaryKeyRelatedField(
        queryset=ImportProfile.objects.all(),
        required=False,
        allow_null=True,
        help_text="The id of a saved import profile; the other fields override its options.",
    )

    def applied(self, base: dict[str, Any] | None = None) -> dict[str, Any]:
        """The options as the job keeps them: `base` (a job's options, for a retry), else the
        defaults; then the profile's; then the fields given."""
        given = dict(self.validated_data)
        given.pop("dry_run", None)
        options = {**DEFAULTS, **(base or {})}
        profile = given.pop("profile", None)
        if profile is not None:
            options.update(
                on_error=profile.on_error,
                update_existing=profile.update_existing,
                mapping=profile.mapping or None,
                profile=profile.pk,
            )
        options.update(given)
        return options


def engine_options(options: dict[str, Any]) -> ImportOptions:
    """A job's kept options as the engine takes them."""
    return ImportOptions(
        on_error=options.get("on_error", DEFAULTS["on_error"]),
        update_existing=options.get("update_existing", DEFAULTS["update_existing"]),
        mapping=options.get("mapping") or None,
    )


class RetryOptionsSerializer(ImportOptionsSerializer):
    """The options a retry may change: a retried job stays an import or a dry run."""

    dry_run = None  # type: ignore[assignment]
