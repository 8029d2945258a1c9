"""What the simulator borrows from WordPress' REST server: its error shape and its argument validation.

WordPress validates a route's arguments (``args`` JSON Schema) *before* the route's permission callback, so
an unsigned request with a bad argument gets 400, not 401; the simulator keeps that order. Only the schema
keywords the plugin's routes use are implemented: ``type`` (one or a list), ``required``, ``default``,
``minLength``/``maxLength``, ``minimum``/``maximum``, ``minItems``/``maxItems``, ``enum``, ``pattern``,
``format: date-time``, nested ``properties`` and ``additionalProperties``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from flask import Response

WARSAW = timezone(timedelta(hours=1))  # the sandbox shop's timezone (winter time is enough for a sandbox)

# rest_parse_date(): RFC 3339 with the time zone optional (then the date is in the site's time zone).
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?$", re.I
)
_TAGS = re.compile(r"<(script|style)[^>]*?>.*?</\1>|<[^>]*>", re.I | re.S)

Schema = Mapping[str, Any]
# A validator beyond the schema (WordPress' validate_callback): returns an error message or None.
Check = Callable[[Any], str | None]


class WpError(Exception):
    """A WordPress REST error: ``{"code", "message", "data": {"status", …}}``."""

    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.data = status, code, message, data


def error_response(status: int, code: str, message: str, **data: Any) -> Response:
    body = {"code": code, "message": message, "data": {"status": status, **data}}
    return Response(json.dumps(body), status=status, mimetype="application/json")


def invalid(param: str, message: str) -> WpError:
    return WpError(400, "rest_invalid_param", f"Invalid parameter(s): {param}", params={param: message})


def parse_rest_date(raw: str, gmt: bool = False) -> datetime | None:
    """An aware datetime; a date without an offset is GMT with ``gmt``, else the site's local time."""
    if not isinstance(raw, str) or not _RFC3339.match(raw):
        return None
    try:
        value = datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC if gmt else WARSAW)
    return value


def strip_tags(text: str) -> str:
    """sanitize_textarea_field() as far as a note cares: markup (script/style with its content) removed."""
    return _TAGS.sub("", text).strip()


def _is_type(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool) or value in ("true", "false", "1", "0", 1, 0)
    if kind == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        return isinstance(value, str) and value.lstrip("-").isdigit()
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return True


def _coerce(value: Any, kind: str) -> Any:
    if kind == "integer" and isinstance(value, str):
        return int(value)
    if kind == "boolean" and not isinstance(value, bool):
        return value in ("true", "1", 1)
    return value


def check_value(value: Any, schema: Schema, name: str) -> Any:
    """The value as WordPress would sanitize it; ValueError(message) when the schema refuses it."""
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    if kinds:
        kind = next((k for k in kinds if _is_type(value, k)), None)
        if kind is None:
            raise ValueError(f"{name} is not of type {','.join(kinds)}.")
        value = _coerce(value, kind)
    if value is None:
        return None
    if "enum" in schema and value not in schema["enum"]:
        raise ValueError(f"{name} is not one of {', '.join(map(str, schema['enum']))}.")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            raise ValueError(f"{name} must be at least {schema['minLength']} character long.")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise ValueError(f"{name} must be at most {schema['maxLength']} characters long.")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise ValueError(f"{name} does not match pattern {schema['pattern']}.")
        if schema.get("format") == "date-time" and parse_rest_date(value) is None:
            raise ValueError("Invalid date.")
    if isinstance(value, int) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise ValueError(f"{name} must be greater than or equal to {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise ValueError(f"{name} must be less than or equal to {schema['maximum']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            raise ValueError(f"{name} has the wrong number of items.")
        value = [check_value(v, schema.get("items", {}), f"{name}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        value = _check_object(value, schema, name)
    return value


def _check_object(value: dict[str, Any], schema: Schema, name: str) -> dict[str, Any]:
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in properties:
            out[key] = check_value(item, properties[key], f"{name}[{key}]")
        elif extra is False:
            raise ValueError(f"{key} is not a valid property of Object.")
        elif isinstance(extra, Mapping):
            out[key] = check_value(item, extra, f"{name}[{key}]")
        else:
            out[key] = item
    for key, spec in properties.items():
        if spec.get("required") and key not in value:
            raise ValueError(f"{key} is a required property of {name}.")
    return out


def check_args(args: Mapping[str, Schema], given: Mapping[str, Any]) -> dict[str, Any]:
    """has_valid_params() then sanitize_params(): missing ones in one 400, then each value's schema."""
    missing = [name for name, spec in args.items() if spec.get("required") and name not in given]
    if missing:
        raise WpError(
            400, "rest_missing_callback_param", f"Missing parameter(s): {', '.join(missing)}", params=missing
        )
    out = dict(given)
    errors: dict[str, str] = {}
    for name, spec in args.items():
        if name not in given:
            if "default" in spec:
                out[name] = copy.deepcopy(spec["default"])
            continue
        try:
            out[name] = check_value(given[name], spec, name)
            check: Check | None = spec.get("check")
            message = check(out[name]) if check else None
            if message:
                raise ValueError(message)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise WpError(400, "rest_invalid_param", f"Invalid parameter(s): {', '.join(errors)}", params=errors)
    return out
