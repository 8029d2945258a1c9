"""What Pipedrive's v2 API accepts in a body, and how it words a refusal.

The v2 endpoints validate their JSON bodies against a schema: a missing required field, a value of the
wrong type or a field the schema does not know is a 400 with ``success: false`` (the exact ``error`` text
is UNCONFIRMED; the simulator names the field, as the API's messages seen in issue threads do). Every error
body has the documented envelope ``{success: false, error, error_info, data: null, additional_data: null}``
plus ``code`` where the API gives one (``feature_capping_deals_limit`` on a plan cap).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, jsonify

ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."
EMAIL_LABELS = ("work", "home", "other")
DEAL_STATUSES = ("open", "won", "lost", "deleted")
VISIBLE_TO = (1, 3, 5, 7)
DISCOUNT_TYPES = ("percentage", "amount")
TAX_METHODS = ("exclusive", "inclusive", "none")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")

Check = Callable[[Any], bool]


def error(message: str, status: int, code: str | None = None, **extra: Any) -> Response:
    """Pipedrive's error envelope."""
    body: dict[str, Any] = {
        "success": False,
        "error": message,
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }
    if code:
        body["code"] = code
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    return response


def _string(value: Any) -> bool:
    return isinstance(value, str)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _optional_int(value: Any) -> bool:
    return value is None or _int(value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _emails(value: Any) -> bool:
    if not isinstance(value, list):
        return False
    for entry in value:
        if not isinstance(entry, dict) or set(entry) - {"value", "primary", "label"}:
            return False
        if not _text(entry.get("value")) or not isinstance(entry.get("primary", False), bool):
            return False
        if entry.get("label", "work") not in EMAIL_LABELS:
            return False
    return True


def _phones(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(p, dict) and _text(p.get("value")) for p in value)


def _custom_fields(value: Any) -> bool:
    return isinstance(value, dict)


def _labels(value: Any) -> bool:
    return isinstance(value, list) and all(_int(v) for v in value)


def _date(value: Any) -> bool:
    return value is None or (isinstance(value, str) and bool(DATE.match(value)))


def _prices(value: Any) -> bool:
    if not isinstance(value, list):
        return False
    return all(
        isinstance(p, dict)
        and _number(p.get("price"))
        and isinstance(p.get("currency"), str)
        and bool(CURRENCY.match(p["currency"]))
        for p in value
    )


PERSON: dict[str, Check] = {
    "name": _text,
    "owner_id": _int,
    "org_id": _optional_int,
    "emails": _emails,
    "phones": _phones,
    "visible_to": lambda v: v in VISIBLE_TO,
    "label_ids": _labels,
    "marketing_status": lambda v: v in ("no_consent", "unsubscribed", "subscribed", "archived"),
    "custom_fields": _custom_fields,
}
ORGANIZATION: dict[str, Check] = {
    "name": _text,
    "owner_id": _int,
    "visible_to": lambda v: v in VISIBLE_TO,
    "label_ids": _labels,
    "custom_fields": _custom_fields,
}
DEAL: dict[str, Check] = {
    "title": _text,
    "owner_id": _int,
    "person_id": _optional_int,
    "org_id": _optional_int,
    "pipeline_id": _int,
    "stage_id": _int,
    "value": _number,
    "currency": lambda v: isinstance(v, str) and bool(CURRENCY.match(v)),
    "status": lambda v: v in DEAL_STATUSES,
    "expected_close_date": _date,
    "probability": lambda v: v is None or (_number(v) and 0 <= v <= 100),
    "lost_reason": lambda v: v is None or _string(v),
    "visible_to": lambda v: v in VISIBLE_TO,
    "label_ids": _labels,
    "custom_fields": _custom_fields,
}
PRODUCT: dict[str, Check] = {
    "name": _text,
    "code": _string,
    "description": _string,
    "unit": _string,
    "tax": _number,
    "owner_id": _int,
    "visible_to": lambda v: v in VISIBLE_TO,
    "prices": _prices,
    "custom_fields": _custom_fields,
}
DEAL_PRODUCT: dict[str, Check] = {
    "product_id": _int,
    "item_price": _number,
    "quantity": lambda v: _number(v) and v > 0,
    "tax": _number,
    "comments": _string,
    "discount": _number,
    "discount_type": lambda v: v in DISCOUNT_TYPES,
    "tax_method": lambda v: v in TAX_METHODS,
    "is_enabled": lambda v: isinstance(v, bool),
    "product_variation_id": _optional_int,
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "person": ("name",),
    "organization": ("name",),
    "deal": ("title",),
    "product": ("name",),
    "deal_product": ("product_id", "item_price", "quantity"),
}
SCHEMAS: dict[str, dict[str, Check]] = {
    "person": PERSON,
    "organization": ORGANIZATION,
    "deal": DEAL,
    "product": PRODUCT,
    "deal_product": DEAL_PRODUCT,
}


def validate(kind: str, body: Any, *, create: bool) -> str | None:
    """The refusal's message for a body of ``kind`` ("person", "deal", …), or None when it is valid."""
    if not isinstance(body, Mapping):
        return "Validation failed: the request body must be a JSON object"
    schema = SCHEMAS[kind]
    unknown = sorted(set(body) - set(schema))
    if unknown:
        return f"Validation failed: {unknown[0]}: Parameter '{unknown[0]}' is not allowed for this request"
    if create:
        for field in REQUIRED[kind]:
            if field not in body:
                return f"Validation failed: {field}: Parameter '{field}' is required"
    elif not body:
        return "Validation failed: at least one field must be given"
    for field, value in body.items():
        if not schema[field](value):
            return f"Validation failed: {field}: Parameter '{field}' has an invalid value"
    return None


def search_args(args: Mapping[str, str], fields: tuple[str, ...]) -> tuple[str, tuple[str, ...], bool] | str:
    """``(term, fields, exact)`` of a ``…/search`` query, or the refusal's message."""
    term = str(args.get("term") or "")
    exact = str(args.get("exact_match") or "false").lower() in ("true", "1")
    if len(term) < (1 if exact else 2):
        return "Validation failed: term: the search term must have at least 2 characters (1 with exact_match)"
    asked = tuple(f for f in str(args.get("fields") or ",".join(fields)).split(",") if f)
    wrong = [f for f in asked if f not in fields]
    if wrong:
        return f"Validation failed: fields: '{wrong[0]}' is not one of {', '.join(fields)}"
    return term, asked, exact


def matches(values: list[str], term: str, exact: bool) -> float:
    """A result score: 1.0 for an exact (case-insensitive) match, less for a substring, 0 for none."""
    wanted = term.lower()
    best = 0.0
    for value in values:
        text = value.lower()
        if text == wanted:
            return 1.0
        if not exact and wanted in text:
            best = max(best, round(len(wanted) / max(len(text), 1), 4))
    return best


LIST_SORTS = ("id", "update_time", "add_time")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def list_args(args: Mapping[str, str], kind: str) -> tuple[str | None, str, bool] | str:
    """``(updated_since, sort_by, descending)`` of a v2 listing (``GET /api/v2/persons`` …), or the refusal.

    The listing reads the records themselves, not the search index, so a record is in it as soon as it
    exists. ``updated_since`` is RFC 3339 (v2 timestamps); products take no ``updated_since``."""
    since = args.get("updated_since")
    if since is not None and (kind == "products" or not RFC3339.match(since)):
        return "Validation failed: updated_since: must be an RFC 3339 date-time (e.g. 2024-01-01T00:00:00Z)"
    sort_by = str(args.get("sort_by") or "id")
    if sort_by not in LIST_SORTS:
        return f"Validation failed: sort_by: must be one of {', '.join(LIST_SORTS)}"
    direction = str(args.get("sort_direction") or "asc")
    if direction not in ("asc", "desc"):
        return "Validation failed: sort_direction: must be one of asc, desc"
    return since, sort_by, direction == "desc"
