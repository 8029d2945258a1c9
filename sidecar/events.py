"""The event envelope the plugin sends (docs/contract.md §2) and its validation.

:func:`validate_envelope` returns a clean, JSON-serialisable envelope (what the queue carries) or raises
:class:`EnvelopeError` whose ``errors`` map dotted field paths to messages, e.g.
``{"data.order_id": ["Missing data for required field."]}``. Unknown keys are dropped, at the top level
and in ``data``: events carry ids and facts only, and nothing else should reach the queue.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

EVENT_TYPES: tuple[str, ...] = (
    "order.created",
    "order.paid",
    "order.status_changed",
    "order.refunded",
    "order.cancelled",
    "rma.created",
    "rma.updated",
    "customer.erasure_requested",
    "config.updated",
    "ping",
)

MAX_AMOUNT = 999_999_999_999_999
MAX_ID = 2**63 - 1  # a WordPress id is a BIGINT UNSIGNED; PHP's int is signed 64-bit
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


class _Data(Schema):
    class Meta:
        unknown = EXCLUDE


class OrderCreatedData(_Data):
    order_id = PositiveId(required=True)
    status = StatusSlug()


class OrderPaidData(_Data):
    order_id = PositiveId(required=True)
    from_ = StatusSlug(data_key="from")
    to = StatusSlug()
    payment_method = fields.String(validate=validate.Length(min=1, max=100))


class OrderStatusChangedData(_Data):
    order_id = PositiveId(required=True)
    from_ = StatusSlug(data_key="from", required=True)
    to = StatusSlug(required=True)


class OrderRefundedData(_Data):
    order_id = PositiveId(required=True)
    refund_id = PositiveId(required=True)
    # WooCommerce writes amounts as decimal strings ("10.00"); a JSON number is accepted too.
    amount = Amount()


class OrderCancelledData(_Data):
    order_id = PositiveId(required=True)
    from_ = StatusSlug(data_key="from")


class RmaData(_Data):
    rma_id = PositiveId(required=True)
    order_id = PositiveId(required=True)
    status = StatusSlug()


class ErasureData(_Data):
    email_hash = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[0-9a-f]{64}\Z", error="Must be the lower-case hex SHA-256 of the e-mail."
        ),
    )
    customer_id = PositiveId()


class ConfigUpdatedData(_Data):
    version = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_ID))


class PingData(_Data):
    pass


DATA_SCHEMAS: dict[str, type[Schema]] = {
    "order.created": OrderCreatedData,
    "order.paid": OrderPaidData,
    "order.status_changed": OrderStatusChangedData,
    "order.refunded": OrderRefundedData,
    "order.cancelled": OrderCancelledData,
    "rma.created": RmaData,
    "rma.updated": RmaData,
    "customer.erasure_requested": ErasureData,
    "config.updated": ConfigUpdatedData,
    "ping": PingData,
}
assert set(DATA_SCHEMAS) == set(EVENT_TYPES)


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
_DATA = {name: schema() for name, schema in DATA_SCHEMAS.items()}


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
            # Attribute names such as ``from_`` go back to their wire names.
            envelope["data"] = _DATA[event_type].dump(data) if data else {}
    if errors:
        raise EnvelopeError(errors)
    return envelope
