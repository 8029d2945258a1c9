"""The custom properties BPM Bridge writes in HubSpot, created when an account lacks them.

Each is looked up once (then remembered for the account for a day, in the shared budget's flags) and
created when missing; a unique one (``woo_order_id``, ``woo_line_key``) that exists *without* unique values
is refused in plain words, because the upserts by it could then duplicate deals or lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sidecar.errors import PermanentError

if TYPE_CHECKING:
    from sidecar.providers.crm.hubspot import HubSpotProvider

PROPERTY_TTL = 86400  # a property, once seen, is assumed to stay for a day


@dataclass(frozen=True)
class Property:
    object_type: str
    name: str
    label: str
    group: str
    unique: bool = False
    boolean: bool = False

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "groupName": self.group,
            "type": "bool" if self.boolean else "string",
            "fieldType": "booleancheckbox" if self.boolean else "text",
            "description": "Written by BPM Bridge from WooCommerce.",
        }
        if self.boolean:
            body["options"] = [
                {"label": "Yes", "value": "true", "displayOrder": 0},
                {"label": "No", "value": "false", "displayOrder": 1},
            ]
        if self.unique:
            body["hasUniqueValue"] = True
        return body


# Our custom properties (HubSpot's own: email, firstname, lastname, company, dealname, amount, …).
PROPERTIES: tuple[Property, ...] = (
    Property("contacts", "woo_nip", "NIP (tax ID)", "contactinformation"),
    Property(
        "contacts", "woo_marketing_consent", "Marketing consent (shop)", "contactinformation", boolean=True
    ),
    Property("contacts", "woo_consent_version", "Marketing consent text version", "contactinformation"),
    Property("contacts", "woo_consent_at", "Marketing consent given at", "contactinformation"),
    Property("deals", "woo_order_id", "WooCommerce order ID", "dealinformation", unique=True),
    Property("deals", "woo_order_number", "WooCommerce order number", "dealinformation"),
    Property("deals", "woo_invoice_number", "Invoice number", "dealinformation"),
    Property("deals", "woo_invoice_url", "Invoice PDF", "dealinformation"),
    Property("deals", "woo_return_state", "Return state", "dealinformation"),
    Property("line_items", "woo_line_key", "WooCommerce order line", "lineiteminformation", unique=True),
)


def ensure_properties(api: HubSpotProvider, object_types: Sequence[str]) -> None:
    for prop in PROPERTIES:
        if prop.object_type not in object_types:
            continue
        flag = f"property:{prop.object_type}:{prop.name}"
        if api.limiter.remembered(flag):
            continue
        path = f"/crm/v3/properties/{prop.object_type}/{prop.name}"
        existing = api._call(
            "GET", path, what=f"the {prop.object_type} property {prop.name}", missing_ok=True
        )
        if existing is None:
            api._call(
                "POST",
                f"/crm/v3/properties/{prop.object_type}",
                prop.body(),
                what=f"the new {prop.object_type} property {prop.name}",
                conflict=True,
            )
        elif prop.unique and not existing.get("hasUniqueValue"):
            raise PermanentError(
                f"the HubSpot {prop.object_type} property {prop.name} exists but does not require unique "
                "values, so deals could be duplicated: delete that property in HubSpot (BPM Bridge "
                "creates it again as unique) and retry"
            )
        api.limiter.remember(flag, PROPERTY_TTL)
