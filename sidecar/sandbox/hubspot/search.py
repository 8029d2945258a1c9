"""``POST /crm/v3/objects/{type}/search``: filter groups (OR) of filters (AND) over the search index,
which sees a write only ``search.lag_seconds`` after it (a new contact is not found for a while)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Response, jsonify, request

from sidecar.sandbox.hubspot.errors import validation
from sidecar.sandbox.hubspot.state import State

OPERATORS = (
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
    "BETWEEN",
)
MAX_GROUPS, MAX_FILTERS, MAX_TOTAL, MAX_LIMIT = 5, 6, 18, 200


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _compare(left: str, right: Any) -> int:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    x, y = left.lower(), str(right).lower()
    return (x > y) - (x < y)


def matches(props: Mapping[str, Any], flt: Mapping[str, Any]) -> bool:
    value = props.get(str(flt.get("propertyName")))
    op = flt.get("operator", "EQ")
    if op == "HAS_PROPERTY":
        return value not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return value in (None, "")
    if op in ("IN", "NOT_IN"):
        wanted = {str(v).lower() for v in flt.get("values") or []}
        return (value is not None and value.lower() in wanted) == (op == "IN")
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(flt.get("value", "")).lower().strip("*")
        return (value is not None and token in value.lower()) == (op == "CONTAINS_TOKEN")
    if value is None:
        return op == "NEQ"
    if op == "BETWEEN":
        return _compare(value, flt.get("value")) >= 0 and _compare(value, flt.get("highValue")) <= 0
    order = _compare(value, flt.get("value"))
    return {
        "EQ": order == 0,
        "NEQ": order != 0,
        "LT": order < 0,
        "LTE": order <= 0,
        "GT": order > 0,
        "GTE": order >= 0,
    }[op]


def _problem(groups: Any) -> str | None:
    if not isinstance(groups, list):
        return "filterGroups must be a list"
    if len(groups) > MAX_GROUPS:
        return f"Too many filter groups: at most {MAX_GROUPS}"
    total = 0
    for group in groups:
        filters = (group or {}).get("filters") if isinstance(group, Mapping) else None
        if not isinstance(filters, list):
            return "each filter group needs a filters list"
        if len(filters) > MAX_FILTERS:
            return f"Too many filters in a group: at most {MAX_FILTERS}"
        total += len(filters)
        for flt in filters:
            op = (flt or {}).get("operator", "EQ")
            if op not in OPERATORS:
                return f"Unknown operator {op}"
            if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY") and "value" in flt:
                return f"{op} filters take no value"
    if total > MAX_TOTAL:
        return f"Too many filters: at most {MAX_TOTAL}"
    return None


def search_view(state: State) -> Callable[[str], Response]:
    def search(kind: str) -> Response:
        body = request.get_json(silent=True)
        body = body if isinstance(body, dict) else {}
        groups = body.get("filterGroups") or []
        problem = _problem(groups)
        if problem:
            return validation(problem)  # UNCONFIRMED wording
        try:
            limit = int(body.get("limit") or 10)
            after = int(body.get("after") or 0)
        except (TypeError, ValueError):
            return validation("limit and after must be integers")
        if not 1 <= limit <= MAX_LIMIT:
            return validation(f"limit must be between 1 and {MAX_LIMIT}")
        names = body.get("properties") if isinstance(body.get("properties"), list) else None
        query = str(body.get("query") or "").lower()
        with state.lock:
            found = []
            for record in state.objects[kind].values():
                props = state.indexed(record)
                if props is None:
                    continue  # not indexed yet
                if groups and not any(all(matches(props, f) for f in g["filters"]) for g in groups):
                    continue
                if query and not any(query in str(v).lower() for v in props.values()):
                    continue
                shown = state.public({**record, "properties": props}, names)
                found.append(shown)
            for sort in reversed(body.get("sorts") or []):
                key = str(sort.get("propertyName") if isinstance(sort, Mapping) else sort)
                descending = key.startswith("-") or (
                    isinstance(sort, Mapping) and sort.get("direction") == "DESCENDING"
                )
                key = key.lstrip("-")

                def by(record: Mapping[str, Any], name: str = key) -> str:
                    return str(record["properties"].get(name) or "")

                found.sort(
                    key=by,
                    reverse=descending,
                )
            page = found[after : after + limit]
            payload: dict[str, Any] = {"total": len(found), "results": page}
            if after + limit < len(found):
                payload["paging"] = {"next": {"after": str(after + limit)}}
        return jsonify(payload)

    return search
