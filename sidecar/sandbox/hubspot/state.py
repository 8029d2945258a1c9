"""One simulated HubSpot account: contacts, deals and line items, their property definitions, the deal
pipelines, associations, the GDPR blocklist, the search index (with its lag), limits and faults.

Every method runs under ``lock`` (the routes hold it). A refused write raises :class:`Refusal`; the routes
turn it into HubSpot's error body, a batch into one entry of its ``errors``.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from sidecar.sandbox.faults import Faults
from sidecar.sandbox.hubspot import rules
from sidecar.sandbox.hubspot.errors import HubspotFaults, Refusal, error, invalid_values
from sidecar.sandbox.hubspot.limits import Limits

CURRENCIES = ["PLN", "EUR", "USD", "GBP", "CZK"]


class State:
    def __init__(self, tokens: Mapping[str, str], portal_id: int) -> None:
        self.tokens = dict(tokens)  # token → account ("portal"); every token of one portal shares limits
        self.portal_id = portal_id
        self.lock = threading.Lock()
        self.faults: Faults = HubspotFaults(error)
        self.limits = Limits()
        self.reset()

    def reset(self) -> None:
        at = rules.now_iso()
        self.properties = rules.standard_properties()
        self.pipelines: dict[str, dict[str, Any]] = {
            "default": rules.pipeline("default", "Sales Pipeline", rules.DEFAULT_STAGES, 0, at)
        }
        self.objects: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in rules.FIRST_IDS}
        self.next_ids = dict(rules.FIRST_IDS)
        # (type, property) → value → id, for every unique property (email included, lower-cased).
        self.unique: dict[tuple[str, str], dict[str, str]] = {}
        # (type, id) → other type → other id → association type ids.
        self.links: dict[tuple[str, str], dict[str, dict[str, set[int]]]] = {}
        self.blocklist: set[str] = set()
        self.gdpr_deleted: list[str] = []
        self.search: dict[str, Any] = {"lag_seconds": 2.0}
        # conflict_seconds: an upsert that finds a record created less than that ago answers 409 (a quirk).
        self.batch: dict[str, Any] = {
            "errors": "multi_status",
            "max_inputs": rules.MAX_BATCH,
            "conflict_seconds": 0.0,
            "order": "input",
        }
        self.account: dict[str, Any] = {"currencies": list(CURRENCIES), "scopes_missing": []}
        self.counts = {"creates": {t: 0 for t in rules.FIRST_IDS}, "updates": {t: 0 for t in rules.FIRST_IDS}}
        self.faults.clear()
        self.limits.reset()

    # -- reading -----------------------------------------------------------------------------------
    def get(self, kind: str, key: str, id_property: str | None = None) -> dict[str, Any] | None:
        if not id_property or id_property == "hs_object_id":
            return self.objects[kind].get(key)
        found = self.unique.get((kind, id_property), {}).get(self._unique_value(kind, id_property, key))
        return self.objects[kind].get(found) if found else None

    def public(self, record: Mapping[str, Any], names: list[str] | None = None) -> dict[str, Any]:
        props = record["properties"]
        wanted = rules.DEFAULT_READ[record["_type"]] if names is None else names
        shown = {n: props.get(n) for n in wanted if n in self.properties[record["_type"]]}
        return {
            "id": record["id"],
            "properties": shown,
            "createdAt": record["createdAt"],
            "updatedAt": record["updatedAt"],
            "archived": False,
        }

    def written(self, record: Mapping[str, Any], sent: Mapping[str, Any]) -> dict[str, Any]:
        """A write's answer: the properties sent plus the ones HubSpot always sets."""
        names = list(dict.fromkeys([*sent, "createdate", "hs_object_id", rules.MODIFIED[record["_type"]]]))
        return self.public(record, names)

    def is_unique(self, kind: str, name: str) -> bool:
        definition = self.properties[kind].get(name)
        return bool(definition and definition["hasUniqueValue"])

    # -- validation --------------------------------------------------------------------------------
    def _unique_value(self, kind: str, name: str, value: str) -> str:
        return value.strip().lower() if (kind, name) == ("contacts", "email") else value

    def clean(self, kind: str, props: Any, record: Mapping[str, Any] | None = None) -> dict[str, str | None]:
        """Checked, string-valued properties, or a :class:`Refusal` naming every bad one."""
        if not isinstance(props, Mapping):
            raise Refusal(400, "Invalid input JSON: properties must be an object", "VALIDATION_ERROR")
        values = {str(k): rules.as_text(v) for k, v in props.items()}
        results: list[dict[str, Any]] = []
        for name, value in values.items():
            definition = self.properties[kind].get(name)
            if definition is None:
                message = f'Property "{name}" does not exist'
                results.append(rules.invalid(name, message, "PROPERTY_DOESNT_EXIST"))
                continue
            problem = rules.check_value(definition, value)
            if problem:
                results.append(problem)
        if kind == "contacts" and values.get("email"):
            email = str(values["email"]).strip()
            if not rules.EMAIL.match(email):
                results.append(rules.invalid("email", f"Email address {email} is invalid", "INVALID_EMAIL"))
            values["email"] = email.lower()  # HubSpot keeps addresses lower-cased
        if kind == "deals":
            results += self._deal_checks(values, record)
        if results:
            raise invalid_values(results)
        return values

    def _deal_checks(self, values: dict[str, str | None], record: Mapping[str, Any] | None) -> list[dict]:
        old = record["properties"] if record else {}
        found: list[dict[str, Any]] = []
        currency = values.get("deal_currency_code")
        if currency and currency not in self.account["currencies"]:
            allowed = self.account["currencies"]
            found.append(
                rules.invalid(
                    "deal_currency_code",
                    f"{currency} was not one of the allowed options: {json.dumps(allowed)}",
                    "INVALID_OPTION",
                )
            )
        if "pipeline" not in values and "dealstage" not in values and record is not None:
            return found
        pid = values.get("pipeline") or old.get("pipeline") or "default"
        if record is None:
            values.setdefault("pipeline", pid)
        pipe = self.pipelines.get(str(pid))
        if pipe is None:
            found.append(
                rules.invalid(
                    "pipeline",
                    f"{pid} was not one of the allowed options: {json.dumps(sorted(self.pipelines))}",
                    "INVALID_OPTION",
                )
            )
            return found
        stage = values.get("dealstage") if "dealstage" in values else old.get("dealstage")
        stages = [s["id"] for s in pipe["stages"]]
        if not stage:
            # UNCONFIRMED: HubSpot's docs say a new deal "should" carry dealstage; the simulator demands it.
            found.append(rules.invalid("dealstage", "dealstage is required", "REQUIRED_PROPERTY"))
        elif stage not in stages:
            # UNCONFIRMED wording; the INVALID_OPTION form HubSpot uses for enumerations.
            found.append(
                rules.invalid(
                    "dealstage",
                    f"{stage} was not one of the allowed options: {json.dumps(stages)} (pipeline {pid})",
                    "INVALID_OPTION",
                )
            )
        return found

    def _claim_unique(self, kind: str, values: Mapping[str, str | None], own_id: str | None) -> None:
        """Refuse a unique value another record holds: 409 "<Object> already exists. Existing ID: <id>"."""
        for name, value in values.items():
            if not value or not self.is_unique(kind, name):
                continue
            holder = self.unique.get((kind, name), {}).get(self._unique_value(kind, name, value))
            if holder and holder != own_id:
                # The contact wording is documented; the same wording for other unique properties is
                # UNCONFIRMED (chosen so one "Existing ID: (\d+)" rule serves every object).
                raise Refusal(409, f"{rules.LABELS[kind]} already exists. Existing ID: {holder}", "CONFLICT")

    def _check_blocklist(self, kind: str, values: Mapping[str, str | None]) -> None:
        email = values.get("email")
        if kind == "contacts" and email and email in self.blocklist:
            # UNCONFIRMED: how HubSpot refuses an address it blocklisted after a GDPR delete.
            raise Refusal(
                400,
                f"Email address {email} was permanently deleted (GDPR) and is blocklisted; "
                "it cannot be re-created.",
                "VALIDATION_ERROR",
                email=email,
            )

    # -- writing -----------------------------------------------------------------------------------
    def _index(self, record: dict[str, Any]) -> None:
        """Search sees this version of the record only after ``search.lag_seconds``."""
        now = time.monotonic()
        versions = record["_index"]
        seen = [i for i, (at, _) in enumerate(versions) if at <= now]
        if seen:
            del versions[: seen[-1]]  # older versions than the newest one search already sees are moot
        versions.append((now + float(self.search["lag_seconds"]), copy.deepcopy(record["properties"])))

    def indexed(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        now = time.monotonic()
        ready = [props for at, props in record["_index"] if at <= now]
        return ready[-1] if ready else None

    def _set_unique(self, record: Mapping[str, Any], old: Mapping[str, Any]) -> None:
        kind = record["_type"]
        for name, value in record["properties"].items():
            if not self.is_unique(kind, name):
                continue
            table = self.unique.setdefault((kind, name), {})
            before = old.get(name)
            if before and before != value:
                table.pop(self._unique_value(kind, name, before), None)
            if value:
                table[self._unique_value(kind, name, value)] = record["id"]

    def prepare(self, kind: str, props: Any, associations: Any = None) -> tuple[dict, list]:
        """Everything a create checks, nothing written: (clean values, inline associations)."""
        values = self.clean(kind, props)
        self._check_blocklist(kind, values)
        self._claim_unique(kind, values, None)
        return values, self._inline_associations(kind, associations)

    def create(self, kind: str, props: Any, associations: Any = None) -> dict[str, Any]:
        values, links = self.prepare(kind, props, associations)
        return self.insert(kind, values, links)

    def insert(self, kind: str, values: Mapping[str, str | None], links: list) -> dict[str, Any]:
        at = rules.now_iso()
        oid = str(self.next_ids[kind])
        self.next_ids[kind] += 1
        stored = {k: v for k, v in values.items() if v not in (None, "")}
        if kind == "line_items":
            stored["amount"] = rules.line_amount(stored)
        stored.update({"hs_object_id": oid, "createdate": at, rules.MODIFIED[kind]: at})
        record = {
            "_created": time.monotonic(),
            "_type": kind,
            "id": oid,
            "properties": stored,
            "createdAt": at,
            "updatedAt": at,
            "_index": [],
        }
        self.objects[kind][oid] = record
        self._set_unique(record, {})
        self._index(record)
        for to_kind, to_id, type_id in links:
            self.associate(kind, oid, to_kind, to_id, type_id)
        self.counts["creates"][kind] += 1
        return record

    def just_created(self, record: Mapping[str, Any]) -> bool:
        return time.monotonic() - record["_created"] < float(self.batch.get("conflict_seconds") or 0)

    def check_update(self, record: Mapping[str, Any], props: Any) -> dict[str, str | None]:
        kind = record["_type"]
        values = self.clean(kind, props, record)
        self._check_blocklist(kind, values)
        self._claim_unique(kind, values, record["id"])
        return values

    def update(self, record: dict[str, Any], props: Any) -> dict[str, Any]:
        kind = record["_type"]
        values = self.check_update(record, props)
        old = dict(record["properties"])
        for name, value in values.items():
            if value in (None, ""):
                record["properties"].pop(name, None)
            else:
                record["properties"][name] = value
        if kind == "line_items":
            record["properties"]["amount"] = rules.line_amount(record["properties"])
        at = rules.now_iso()
        record["properties"][rules.MODIFIED[kind]] = at
        record["updatedAt"] = at
        self._set_unique(record, old)
        self._index(record)
        self.counts["updates"][kind] += 1
        return record

    def archive(self, kind: str, oid: str) -> bool:
        record = self.objects[kind].pop(oid, None)
        if record is None:
            return False
        for name, value in record["properties"].items():
            if value and self.is_unique(kind, name):
                self.unique.get((kind, name), {}).pop(self._unique_value(kind, name, value), None)
        for to_kind, ids in self.links.pop((kind, oid), {}).items():
            for to_id in ids:
                self.links.get((to_kind, to_id), {}).get(kind, {}).pop(oid, None)
        return True

    def gdpr_delete(self, email: str) -> bool:
        """Delete the contact with this address; blocklist the address either way. True when one existed."""
        address = email.strip().lower()
        record = self.get("contacts", address, "email")
        if record is not None:
            self.archive("contacts", record["id"])
        # UNCONFIRMED for a found contact (documented for an unknown address): the address is blocklisted.
        self.blocklist.add(address)
        self.gdpr_deleted.append(address)
        return record is not None

    # -- associations ------------------------------------------------------------------------------
    def _inline_associations(self, kind: str, associations: Any) -> list[tuple[str, str, int]]:
        """``associations: [{to: {id}, types: [{associationCategory, associationTypeId}]}]`` on a create."""
        if not associations:
            return []
        if not isinstance(associations, list):
            raise Refusal(400, "Invalid input JSON: associations must be a list", "VALIDATION_ERROR")
        links = []
        for item in associations:
            to_id = str(((item or {}).get("to") or {}).get("id") or "")
            for spec in (item or {}).get("types") or []:
                category, type_id = spec.get("associationCategory"), spec.get("associationTypeId")
                target = rules.TYPE_TARGETS.get((kind, int(type_id))) if str(type_id).isdigit() else None
                if category != "HUBSPOT_DEFINED" or target is None:
                    raise Refusal(
                        400,
                        f"{type_id} is not a valid association type id for {rules.SINGULAR[kind]}",
                        "VALIDATION_ERROR",
                        associationTypeId=str(type_id),
                    )
                if to_id not in self.objects[target]:
                    raise Refusal(
                        400,
                        f"No {rules.SINGULAR[target]} with id {to_id} exists to associate with",
                        "VALIDATION_ERROR",
                        id=to_id,
                    )  # UNCONFIRMED wording
                links.append((target, to_id, int(type_id)))
        return links

    def associate(self, kind: str, oid: str, to_kind: str, to_id: str, type_id: int | None = None) -> None:
        """Both directions, idempotent; ``type_id`` defaults to the HUBSPOT_DEFINED unlabelled type."""
        forward = type_id or rules.ASSOCIATION_TYPES[(kind, to_kind)]
        backward = rules.ASSOCIATION_TYPES[(to_kind, kind)]
        self.links.setdefault((kind, oid), {}).setdefault(to_kind, {}).setdefault(to_id, set()).add(forward)
        self.links.setdefault((to_kind, to_id), {}).setdefault(kind, {}).setdefault(oid, set()).add(backward)

    def dissociate(self, kind: str, oid: str, to_kind: str, to_id: str) -> None:
        self.links.get((kind, oid), {}).get(to_kind, {}).pop(to_id, None)
        self.links.get((to_kind, to_id), {}).get(kind, {}).pop(oid, None)

    def associated(self, kind: str, oid: str, to_kind: str) -> dict[str, set[int]]:
        return dict(sorted(self.links.get((kind, oid), {}).get(to_kind, {}).items()))

    # -- sandbox -----------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        def dump(kind: str) -> list[dict[str, Any]]:
            out = []
            for record in self.objects[kind].values():
                entry = {
                    "id": record["id"],
                    "properties": dict(record["properties"]),
                    "createdAt": record["createdAt"],
                    "updatedAt": record["updatedAt"],
                    "associations": {
                        k: sorted(v) for k, v in self.links.get((kind, record["id"]), {}).items() if v
                    },
                }
                out.append(entry)
            return out

        return {
            "contacts": dump("contacts"),
            "deals": dump("deals"),
            "line_items": dump("line_items"),
            "associations": [
                {"from_type": f, "from_id": i, "to_type": t, "to_id": j, "type_ids": sorted(types)}
                for (f, i), targets in sorted(self.links.items())
                for t, ids in sorted(targets.items())
                for j, types in sorted(ids.items())
            ],
            "custom_properties": {
                kind: sorted(n for n, p in props.items() if not p["hubspotDefined"])
                for kind, props in self.properties.items()
            },
            "pipelines": sorted(self.pipelines),
            "blocklist": sorted(self.blocklist),
            "gdpr_deleted": list(self.gdpr_deleted),
            "counts": {
                **{kind: len(self.objects[kind]) for kind in self.objects},
                "creates": dict(self.counts["creates"]),
                "updates": dict(self.counts["updates"]),
            },
            "limits": self.limits.snapshot(),
        }
