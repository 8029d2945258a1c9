"""The event envelope the plugin sends (docs/contract.md §2) and its validation.

:func:`validate_envelope` returns a clean, JSON-serialisable envelope (what the queue carries) or raises
:class:`EnvelopeError` whose ``errors`` map dotted field paths to messages, e.g.
``{"data.order_id": ["Missing data for required field."]}``. Unknown keys are dropped, at the top level
and in ``data``: events carry ids and facts only, and nothing else should reach the queue. The event
types and their data keys come from the contract (:mod:`sidecar.contract`); ``redelivery`` (optional,
≥ 1) counts the times a person pressed Retry on the plugin's outbox row (docs/contract.md §2).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from sidecar import contract

# The contract (docs/contract.json) names the event types and each one's required and optional data keys;
# this module only knows how one data key is typed (DATA_FIELDS).
EVENT_TYPES: tuple[str, ...] = contract.event_types()

MAX_AMOUNT = 999_999_999_999_999
MAX_ID = 2**63 - 1  # a WordPress id is a BIGINT UNSIGNED; PHP's int is signed 64-bit
# How often a person pressed Retry on one outbox row; far beyond any real count, small enough for a key.
MAX_REDELIVERY = 1_000_000
# Events are flat (envelope → data → values); anything deeper is refused before validation walks it.
MAX_DEPTH = 8
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z", re.ASCII
)
_RFC3339_UTC = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(?:[Zz]|\+00:00)\Z", re.ASCII
)
_AMOUNT = re.compile(r"^\d{1,15}(?:\.\d{1,6})?\Z", re.ASCII)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}\Z", re.ASCII)


class EnvelopeError(ValueError):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class PositiveId(fields.Field):
    """A positive JSON integer. ``true``, ``"12"`` and ``12.0`` are refused: the plugin sends ints."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("Must be a positive integer.")
        if not 1 <= value <= MAX_ID:
            raise ValidationError("Must be a positive integer.")
        return value


class EventId(fields.Field):
    """A UUID in its 8-4-4-4-12 text form; returned lower-cased so the de-dup key is canonical."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str) or not _UUID.match(value):
            raise ValidationError("Must be a UUID such as 0193a4c2-7d1e-4c3a-9b7e-2f4c1d9e8a10.")
        return str(uuid.UUID(value))


class UtcTimestamp(fields.Field):
    """RFC 3339 date-time in UTC (``Z`` or ``+00:00``); kept as the text sent."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        match = _RFC3339_UTC.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValidationError("Must be an RFC 3339 date-time in UTC, e.g. 2026-11-22T12:00:00Z.")
        date, time, fraction = match.groups()
        try:
            datetime.fromisoformat(f"{date}T{time}.{(fraction or '0')[:6]}+00:00")
        except ValueError:
            raise ValidationError("Not a real date and time.") from None
        return value


class StatusSlug(fields.String):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            validate=validate.Regexp(_SLUG, error="Must be a status slug without 'wc-'."), **kwargs
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        slug = super()._deserialize(value, attr, data, **kwargs)
        if slug.startswith("wc-"):
            raise ValidationError("Must be a status slug without the 'wc-' prefix.")
        return slug


class Amount(fields.Field):
    """A money amount: WooCommerce writes decimal strings ("10.00"); a plain JSON number is accepted too."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not 0 <= value <= MAX_AMOUNT:  # also refuses NaN
                raise ValidationError("Must be a non-negative decimal amount such as 10.00.")
            return format(Decimal(repr(value)), "f")
        if not isinstance(value, str) or not _AMOUNT.match(value):
            raise ValidationError("Must be a non-negative decimal amount such as 10.00.")
        return value


class Counter(fields.Field):
    """A JSON integer from 1 to MAX_REDELIVERY (``true`` and ``1.0`` refused)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REDELIVERY:
            raise ValidationError(f"Must be an integer from 1 to {MAX_REDELIVERY}.")
        return value


def _email_hash(**kwargs: Any) -> fields.Field:
    error = "Must be the lower-case hex SHA-256 of the e-mail."
    return fields.String(validate=validate.Regexp(r"^[0-9a-f]{64}\Z", error=error), **kwargs)


def _payment_method(**kwargs: Any) -> fields.Field:
    return fields.String(validate=validate.Length(min=1, max=100), **kwargs)


def _version(**kwargs: Any) -> fields.Field:
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_ID), **kwargs)


# How each data key the contract names is typed. A key the contract adds needs one line here.
DATA_FIELDS: dict[str, Callable[..., fields.Field]] = {
    "order_id": PositiveId,
    "refund_id": PositiveId,
    "rma_id": PositiveId,
    "customer_id": PositiveId,
    "request_id": PositiveId,
    "status": StatusSlug,
    "from": StatusSlug,
    "to": StatusSlug,
    "payment_method": _payment_method,
    # WooCommerce writes amounts as decimal strings ("10.00"); a JSON number is accepted too.
    "amount": Amount,
    "email_hash": _email_hash,
    "version": _version,
}


def data_schema(event_type: str) -> Schema:
    """The ``data`` schema of one event type, built from the contract's required and optional keys."""
    spec = contract.event_spec(event_type)
    required, optional = tuple(spec["required"]), tuple(spec["optional"])
    unknown = [key for key in (*required, *optional) if key not in DATA_FIELDS]
    if unknown:
        raise LookupError(f"docs/contract.json names data keys sidecar.events does not type: {unknown}")
    declared = {key: DATA_FIELDS[key](required=key in required) for key in (*required, *optional)}
    return Schema.from_dict(declared, name=f"Data[{event_type}]")(unknown=EXCLUDE)


class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = EventId(required=True)
    type = fields.String(
        required=True,
        validate=validate.OneOf(EVENT_TYPES, error="Unknown event type; expected one of: {choices}."),
    )
    occurred_at = UtcTimestamp(required=True)
    store = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    data = fields.Dict(keys=fields.String(), required=True)
    # Absent on automatic deliveries; the number of times a person pressed Retry on the outbox row.
    redelivery = Counter()


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dicts -> ``{"data.order_id": ["..."]}``."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix and key != "_schema" else (prefix or str(key))
            flat.update(flatten_errors(value, path))
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": list(messages)}
    if isinstance(messages, list):
        flat = {}
        for item in messages:
            for key, value in flatten_errors(item, prefix).items():
                flat.setdefault(key, []).extend(value)
        return flat
    return {prefix or "_schema": [str(messages)]}


_ENVELOPE = EnvelopeSchema()
_DATA = {name: data_schema(name) for name in EVENT_TYPES}


def nesting_depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays/objects nest deeper than ``limit``; iterative, so depth cannot exhaust the stack."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def validate_envelope(payload: Any) -> dict[str, Any]:
    """Validate a decoded JSON body; every bad field is reported at once, not only the first."""
    if not isinstance(payload, Mapping):
        raise EnvelopeError({"_schema": ["The envelope must be a JSON object."]})
    errors: dict[str, list[str]] = {}
    try:
        envelope: dict[str, Any] = _ENVELOPE.load(payload)
    except ValidationError as exc:
        errors.update(flatten_errors(exc.messages))
        envelope = {}
    event_type = payload.get("type")
    raw_data = payload.get("data")
    if isinstance(event_type, str) and event_type in _DATA and isinstance(raw_data, Mapping):
        try:
            data = _DATA[event_type].load(raw_data)
        except ValidationError as exc:
            errors.update(flatten_errors(exc.messages, "data"))
        else:
            envelope["data"] = dict(data)
    if errors:
        raise EnvelopeError(errors)
    return envelope
