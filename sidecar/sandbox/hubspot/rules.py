"""What HubSpot's CRM v3/v4 API accepts: object types, the standard property tables, the default deal
pipeline, association types, and how a property value is checked (and how HubSpot words a refusal).

Property values travel as strings (HubSpot answers every value as a string or null). A value check gives
one ``validationResults``-style entry ``{isValid, message, error, name}`` (the shape seen in HubSpot's
``Property values were not valid: [...]`` messages), or None when the value is fine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# Path names HubSpot accepts for an object type (plural, singular, type id) → the canonical plural.
OBJECT_TYPES = {
    "contacts": "contacts",
    "contact": "contacts",
    "0-1": "contacts",
    "deals": "deals",
    "deal": "deals",
    "0-3": "deals",
    "line_items": "line_items",
    "line_item": "line_items",
    "0-8": "line_items",
}
TYPE_IDS = {"contacts": "0-1", "deals": "0-3", "line_items": "0-8"}
SINGULAR = {"contacts": "contact", "deals": "deal", "line_items": "line_item"}
LABELS = {"contacts": "Contact", "deals": "Deal", "line_items": "Line item"}
# Ids are numeric strings; each type counts in its own range so a contact id used as a deal id is caught.
FIRST_IDS = {"contacts": 10_000_001, "deals": 20_000_001, "line_items": 30_000_001}

# HUBSPOT_DEFINED association type ids (returns_crm.md 2.1): (from, to) → type id, and back.
ASSOCIATION_TYPES: dict[tuple[str, str], int] = {
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
    ("deals", "line_items"): 19,
    ("line_items", "deals"): 20,
}
TYPE_TARGETS: dict[tuple[str, int], str] = {(f, t): to for (f, to), t in ASSOCIATION_TYPES.items()}

MAX_BATCH = 100  # commonly cited; UNCONFIRMED in a primary doc (returns_crm.md 2.1)
MAX_STRING = 65536  # UNCONFIRMED: HubSpot's documented string limit is 65,536 characters
EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$")
VALUE_TYPES = ("string", "number", "date", "datetime", "enumeration", "bool")
FIELD_TYPES = (
    "text",
    "textarea",
    "number",
    "date",
    "select",
    "radio",
    "checkbox",
    "booleancheckbox",
    "phonenumber",
    "html",
    "file",
    "calculation_equation",
)
# Values HubSpot creates and keeps itself: a write to one is refused (UNCONFIRMED wording/error code).
READ_ONLY = {"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"}


def _prop(
    name: str,
    label: str,
    kind: str = "string",
    field: str = "text",
    group: str = "",
    options: Iterable[str] = (),
    read_only: bool = False,
    unique: bool = False,
) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": kind,
        "fieldType": field,
        "groupName": group,
        "description": "",
        "options": [
            {"label": o, "value": o, "displayOrder": i, "hidden": False} for i, o in enumerate(options)
        ],
        "displayOrder": -1,
        "hasUniqueValue": unique,
        "hidden": False,
        "formField": not read_only,
        "calculated": False,
        "externalOptions": False,
        "hubspotDefined": True,
        "modificationMetadata": {
            "archivable": False,
            "readOnlyDefinition": True,
            "readOnlyValue": read_only or name in READ_ONLY,
        },
        "archived": False,
    }


LIFECYCLE = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
# UNCONFIRMED option values (the labels HubSpot's UI shows for the GDPR legal basis).
LEGAL_BASIS = (
    "Legitimate interest - prospect/lead",
    "Legitimate interest - existing customer",
    "Performance of a contract",
    "Freely given consent from contact",
    "Not applicable",
)


def standard_properties() -> dict[str, dict[str, dict[str, Any]]]:
    """Each object type's HubSpot-defined properties (a subset: the ones a shop integration touches)."""
    info = "contactinformation"
    common = [
        _prop("hs_object_id", "Record ID", "number", "number", info, read_only=True),
        _prop("createdate", "Create Date", "datetime", "date", info, read_only=True),
    ]
    contacts = [
        *common,
        _prop("lastmodifieddate", "Last Modified Date", "datetime", "date", info, read_only=True),
        _prop("email", "Email", group=info, unique=True),
        _prop("firstname", "First Name", group=info),
        _prop("lastname", "Last Name", group=info),
        _prop("company", "Company Name", group=info),
        _prop("phone", "Phone Number", field="phonenumber", group=info),
        _prop("mobilephone", "Mobile Phone Number", field="phonenumber", group=info),
        _prop("address", "Street Address", group=info),
        _prop("city", "City", group=info),
        _prop("zip", "Postal Code", group=info),
        _prop("state", "State/Region", group=info),
        _prop("country", "Country/Region", group=info),
        _prop("website", "Website URL", group=info),
        _prop("jobtitle", "Job Title", group=info),
        _prop("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", info, LIFECYCLE),
        _prop(
            "hs_marketable_status",
            "Marketing contact status",
            "enumeration",
            "booleancheckbox",
            info,
            ("true", "false"),
        ),
        _prop(
            "hs_legal_basis",
            "Legal basis for processing contact's data",
            "enumeration",
            "checkbox",
            info,
            LEGAL_BASIS,
        ),
    ]
    deal = "dealinformation"
    deals = [
        _prop("hs_object_id", "Record ID", "number", "number", deal, read_only=True),
        _prop("createdate", "Create Date", "datetime", "date", deal, read_only=True),
        _prop("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", deal, read_only=True),
        _prop("dealname", "Deal Name", group=deal),
        _prop("amount", "Amount", "number", "number", deal),
        _prop("pipeline", "Pipeline", "enumeration", "select", deal),
        _prop("dealstage", "Deal Stage", "enumeration", "radio", deal),
        _prop("closedate", "Close Date", "datetime", "date", deal),
        _prop("dealtype", "Deal Type", "enumeration", "radio", deal, ("newbusiness", "existingbusiness")),
        _prop("description", "Deal Description", field="textarea", group=deal),
        _prop("deal_currency_code", "Currency", "enumeration", "select", deal),
        _prop("hubspot_owner_id", "Deal owner", "enumeration", "select", deal),
    ]
    item = "lineiteminformation"
    line_items = [
        _prop("hs_object_id", "Record ID", "number", "number", item, read_only=True),
        _prop("createdate", "Create Date", "datetime", "date", item, read_only=True),
        _prop("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", item, read_only=True),
        _prop("name", "Name", group=item),
        _prop("quantity", "Quantity", "number", "number", item),
        _prop("price", "Unit price", "number", "number", item),
        _prop("discount", "Unit discount", "number", "number", item),
        _prop("amount", "Net price", "number", "calculation_equation", item, read_only=True),
        _prop("hs_sku", "SKU", group=item),
        _prop("hs_product_id", "Product ID", "number", "number", item),
        _prop("description", "Description", field="textarea", group=item),
    ]
    return {
        "contacts": {p["name"]: p for p in contacts},
        "deals": {p["name"]: p for p in deals},
        "line_items": {p["name"]: p for p in line_items},
    }


# Properties a plain GET answers when no ``properties`` are asked for (HubSpot's documented defaults).
DEFAULT_READ = {
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
    "line_items": ("createdate", "hs_lastmodifieddate", "hs_object_id", "name", "price", "quantity"),
}
MODIFIED = {
    "contacts": "lastmodifieddate",
    "deals": "hs_lastmodifieddate",
    "line_items": "hs_lastmodifieddate",
}

# HubSpot's default "Sales Pipeline" (stage ids as HubSpot defines them; metadata values are strings).
DEFAULT_STAGES = (
    ("appointmentscheduled", "Appointment Scheduled", "0.2", "false"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4", "false"),
    ("presentationscheduled", "Presentation Scheduled", "0.6", "false"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", "false"),
    ("contractsent", "Contract Sent", "0.9", "false"),
    ("closedwon", "Closed Won", "1.0", "true"),
    ("closedlost", "Closed Lost", "0.0", "true"),
)


def pipeline(pid: str, label: str, stages: Iterable[tuple[str, str, str, str]], order: int, at: str) -> dict:
    return {
        "id": pid,
        "label": label,
        "displayOrder": order,
        "stages": [
            {
                "id": sid,
                "label": slabel,
                "displayOrder": i,
                "metadata": {"probability": probability, "isClosed": closed},
                "createdAt": at,
                "updatedAt": at,
                "archived": False,
                "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
            }
            for i, (sid, slabel, probability, closed) in enumerate(stages)
        ],
        "createdAt": at,
        "updatedAt": at,
        "archived": False,
    }


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def invalid(name: str, message: str, code: str) -> dict[str, Any]:
    return {"isValid": False, "message": message, "error": code, "name": name}


def property_values_message(results: list[dict[str, Any]]) -> str:
    """HubSpot's wording: the validation results appended to the message as JSON."""
    return "Property values were not valid: " + json.dumps(results, separators=(",", ":"), ensure_ascii=False)


def as_text(value: Any) -> str | None:
    """A property value as HubSpot stores it: a string (numbers as written, booleans lower-case)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_datetime(text: str, date_only: bool) -> bool:
    if text.isdigit():  # epoch milliseconds
        if not date_only:
            return True
        return int(text) % 86_400_000 == 0  # date properties take midnight UTC only
    if not ISO_DATE.match(text):  # ISO 8601 only (Python alone would also take "2026-12-03 10:00")
        return False
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return not date_only or (parsed.hour, parsed.minute, parsed.second) == (0, 0, 0)


def check_value(definition: Mapping[str, Any], value: str | None) -> dict[str, Any] | None:
    """One value against its property definition (None or "" clears a property and is always fine)."""
    name, kind = definition["name"], definition["type"]
    if definition["modificationMetadata"]["readOnlyValue"]:
        # UNCONFIRMED code and wording: HubSpot refuses writes to read-only values.
        return invalid(name, f'"{name}" is a read only property; its value cannot be set.', "READ_ONLY_VALUE")
    if value is None or value == "":
        return None
    # Since April 2025 non-string values with surrounding spaces are refused (HubSpot changelog).
    if kind != "string" and value != value.strip():
        return invalid(name, f"{value} was not a valid {kind}.", "INVALID_" + kind.upper())
    if kind == "number":
        try:
            ok = Decimal(value).is_finite()
        except InvalidOperation:
            ok = False
        return None if ok else invalid(name, f"{value} was not a valid number.", "INVALID_FLOAT")
    if kind in ("date", "datetime"):
        if _is_datetime(value, kind == "date"):
            return None
        return invalid(name, f"{value} was not a valid {kind}.", "INVALID_DATE")  # UNCONFIRMED code
    if kind == "bool":
        if value in ("true", "false"):
            return None
        return invalid(name, f"{value} was not a valid boolean.", "INVALID_BOOLEAN")  # UNCONFIRMED code
    if kind == "enumeration" and definition["options"]:
        allowed = [o["value"] for o in definition["options"]]
        chosen = value.split(";") if definition["fieldType"] == "checkbox" else [value]
        bad = [c for c in chosen if c not in allowed]
        if bad:
            return invalid(name, f"{bad[0]} was not one of the allowed options: {allowed}", "INVALID_OPTION")
    if kind == "string" and len(value) > MAX_STRING:
        return invalid(name, f"{name} is longer than {MAX_STRING} characters.", "INVALID_STRING")
    return None


def check_new_property(object_type: str, body: Mapping[str, Any]) -> str | None:
    """``POST /crm/v3/properties/{objectType}``: the message when the definition is refused."""
    for key in ("name", "label", "type", "fieldType", "groupName"):
        if not isinstance(body.get(key), str) or not body.get(key):
            return f"{key} can not be null or empty"
    if not PROPERTY_NAME.match(body["name"]):
        return f"Property name {body['name']} is invalid: use lower-case letters, digits and underscores"
    if body["type"] not in VALUE_TYPES:
        return f"Invalid type {body['type']}; allowed: {', '.join(VALUE_TYPES)}"
    if body["fieldType"] not in FIELD_TYPES:
        return f"Invalid fieldType {body['fieldType']}; allowed: {', '.join(FIELD_TYPES)}"
    if body.get("hasUniqueValue") and body["type"] not in ("string", "number"):
        return "Only string and number properties can have unique values"  # UNCONFIRMED wording
    if body["type"] == "enumeration" and not isinstance(body.get("options"), list):
        return "options can not be null for an enumeration property"
    return None


def custom_property(body: Mapping[str, Any], at: str) -> dict[str, Any]:
    options = [
        {
            "label": str(o.get("label") or o.get("value")),
            "value": str(o.get("value")),
            "displayOrder": int(o.get("displayOrder") or i),
            "hidden": bool(o.get("hidden")),
        }
        for i, o in enumerate(body.get("options") or [])
        if isinstance(o, Mapping) and o.get("value") is not None
    ]
    return {
        "name": body["name"],
        "label": body["label"],
        "type": body["type"],
        "fieldType": body["fieldType"],
        "groupName": body["groupName"],
        "description": str(body.get("description") or ""),
        "options": options,
        "displayOrder": int(body.get("displayOrder") or -1),
        "hasUniqueValue": bool(body.get("hasUniqueValue")),
        "hidden": bool(body.get("hidden")),
        "formField": bool(body.get("formField")),
        "calculated": False,
        "externalOptions": False,
        "hubspotDefined": False,
        "modificationMetadata": {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": False},
        "createdAt": at,
        "updatedAt": at,
        "archived": False,
    }


def line_amount(props: Mapping[str, Any]) -> str:
    """HubSpot's calculated net price: quantity x (price - discount)."""
    try:
        quantity = Decimal(str(props.get("quantity") or 1))
        price = Decimal(str(props.get("price") or 0)) - Decimal(str(props.get("discount") or 0))
        return str(quantity * price)
    except ArithmeticError:
        return "0"
