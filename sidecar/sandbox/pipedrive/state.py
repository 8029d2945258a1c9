"""One simulated Pipedrive company account: persons, organizations, deals, products and the products
attached to deals, pipelines and stages, the search index and its lag, the burst limit, the plan cap and
faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Response

from sidecar.sandbox.faults import Faults
from sidecar.sandbox.pipedrive.rules import error, matches

OWNER_ID = 1  # the API token's user: the owner of everything created through it
# A new company's default pipeline (names as Pipedrive's onboarding creates them).
DEFAULT_PIPELINES: tuple[tuple[int, str, tuple[tuple[int, str, int], ...]], ...] = (
    (
        1,
        "Pipeline",
        (
            (1, "Qualified", 100),
            (2, "Contact Made", 100),
            (3, "Demo Scheduled", 100),
            (4, "Proposal Made", 100),
            (5, "Negotiations Started", 100),
        ),
    ),
)
KINDS = ("persons", "organizations", "deals", "products")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fault_error(message: str, status: int) -> Response:
    return error(message, status, errorCode=status)


class State:
    def __init__(self, token: str, domain: str) -> None:
        self.token = token
        self.domain = domain
        self.lock = threading.Lock()
        self.faults = Faults(_fault_error)
        self.reset()

    def reset(self) -> None:
        self.records: dict[str, dict[int, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self.deal_products: dict[int, dict[str, Any]] = {}  # attachment id → row
        self.notes: dict[int, dict[str, Any]] = {}  # v1 notes: id → note
        self.ids = {kind: 0 for kind in (*KINDS, "deal_products", "pipelines", "stages", "notes")}
        self.pipelines: dict[int, dict[str, Any]] = {}
        self.stages: dict[int, dict[str, Any]] = {}
        for pipeline_id, name, stages in DEFAULT_PIPELINES:
            self.add_pipeline(name, [(s_name, probability) for _, s_name, probability in stages], pipeline_id)
        # Search lag: a record created less than ``lag_seconds`` ago is not found by search.
        self.search: dict[str, Any] = {"lag_seconds": 0.0}
        # Burst limit per token: ``max`` requests per ``window_seconds`` (0 = off). Header names UNCONFIRMED.
        self.limits: dict[str, Any] = {"max": 0, "window_seconds": 2.0, "daily_left": None}
        self.plan: dict[str, Any] = {"deals_limit": 0}  # open deals the plan allows (0 = no cap)
        # v2_pipelines off: only v1 has pipelines and stages (as in documentation before 2025).
        self.api: dict[str, Any] = {"v2_pipelines": True}
        self.sent: list[float] = []
        self.counts = {"persons_created": 0, "deals_created": 0, "requests": 0, "rate_limited": 0}
        self.deleted: list[dict[str, Any]] = []  # {"kind", "id", "at"}: what DELETE removed
        self.faults.clear()

    def snapshot(self) -> dict[str, Any]:
        out: dict[str, Any] = {kind: [public(r) for r in self.records[kind].values()] for kind in KINDS}
        out["deal_products"] = [public(r) for r in self.deal_products.values()]
        out["pipelines"] = list(self.pipelines.values())
        out["stages"] = list(self.stages.values())
        out["counts"] = dict(self.counts)
        out["deleted"] = list(self.deleted)
        out["notes"] = list(self.notes.values())
        return out

    def _next(self, kind: str) -> int:
        self.ids[kind] += 1
        return self.ids[kind]

    # -- pipelines ---------------------------------------------------------------------------------
    def add_pipeline(self, name: str, stages: list[tuple[str, int]], pipeline_id: int | None = None) -> int:
        pid = pipeline_id or self._next("pipelines")
        self.ids["pipelines"] = max(self.ids["pipelines"], pid)
        stamp = now_iso()
        self.pipelines[pid] = {
            "id": pid,
            "name": name,
            "order_nr": len(self.pipelines) + 1,
            "is_deleted": False,
            "is_deal_probability_enabled": False,
            "add_time": stamp,
            "update_time": stamp,
            "is_selected": pid == 1,
        }
        for order, (stage_name, probability) in enumerate(stages, start=1):
            sid = self._next("stages")
            self.stages[sid] = {
                "id": sid,
                "order_nr": order,
                "name": stage_name,
                "is_deleted": False,
                "deal_probability": probability,
                "pipeline_id": pid,
                "is_deal_rot_enabled": False,
                "days_to_rotten": None,
                "add_time": stamp,
                "update_time": stamp,
            }
        return pid

    def first_stage(self, pipeline_id: int) -> int | None:
        ordered = sorted(
            (s for s in self.stages.values() if s["pipeline_id"] == pipeline_id), key=lambda s: s["order_nr"]
        )
        return ordered[0]["id"] if ordered else None

    # -- records -----------------------------------------------------------------------------------
    def get(self, kind: str, record_id: int) -> dict[str, Any] | None:
        record = self.records[kind].get(record_id)
        return record if record is not None and not record["is_deleted"] else None

    def create(self, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
        record_id = self._next(kind)
        stamp = now_iso()
        record: dict[str, Any] = {
            "id": record_id,
            "owner_id": OWNER_ID,
            "add_time": stamp,
            "update_time": stamp,
            "is_deleted": False,
            "visible_to": 3,
            "label_ids": [],
            "custom_fields": {},
            "_born": time.monotonic(),
        }
        record.update(BUILDERS[kind](self, dict(body)))
        self.records[kind][record_id] = record
        if kind in ("persons", "deals"):
            self.counts[f"{kind}_created"] += 1
        return record

    def update(self, kind: str, record: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        changes = dict(body)
        if kind == "persons" and "name" in changes:
            changes.update(_split_name(str(changes["name"])))
        if kind == "deals" and changes.get("stage_id") not in (None, record.get("stage_id")):
            changes["stage_change_time"] = now_iso()
            changes["pipeline_id"] = self.stages[changes["stage_id"]][
                "pipeline_id"
            ]  # a stage names its pipeline
        if kind == "deals" and "status" in changes and changes["status"] != record["status"]:
            stamp = now_iso()
            changes["won_time"] = stamp if changes["status"] == "won" else None
            changes["lost_time"] = stamp if changes["status"] == "lost" else None
            changes["close_time"] = stamp if changes["status"] in ("won", "lost") else None
        record.update(changes)
        record["update_time"] = now_iso()
        return record

    def delete(self, kind: str, record: dict[str, Any]) -> None:
        record["is_deleted"] = True
        record["update_time"] = now_iso()
        self.deleted.append({"kind": kind, "id": record["id"], "at": record["update_time"]})
        if kind == "persons":  # deals keep their history, without the person
            for deal in self.records["deals"].values():
                if deal.get("person_id") == record["id"]:
                    deal["person_id"] = None

    def open_deals(self) -> int:
        return sum(1 for d in self.records["deals"].values() if not d["is_deleted"] and d["status"] == "open")

    # -- search ------------------------------------------------------------------------------------
    def indexed(self, record: Mapping[str, Any]) -> bool:
        # Only a new record waits for the index; a changed one is found at once, with its new values (the
        # real index may show the old values for a while: no client here searches by a changed value).
        return time.monotonic() - float(record["_born"]) >= float(self.search["lag_seconds"])

    def find(
        self, kind: str, term: str, fields: tuple[str, ...], exact: bool, **filters: Any
    ) -> list[tuple[float, dict[str, Any]]]:
        found = []
        for record in self.records[kind].values():
            if record["is_deleted"] or not self.indexed(record):
                continue
            if any(v is not None and record.get(k) != v for k, v in filters.items()):
                continue
            score = matches(searchable(record, fields), term, exact)
            if score > 0:
                found.append((score, record))
        found.sort(key=lambda pair: (-pair[0], pair[1]["id"]))
        return found

    # -- the burst limit ---------------------------------------------------------------------------
    def take_slot(self) -> tuple[int, int, float] | None:
        """``(limit, remaining, reset seconds)`` of this request, or None when the limit is off. A request
        over the limit gets remaining = -1."""
        self.counts["requests"] += 1
        most = int(self.limits["max"] or 0)
        if most <= 0:
            return None
        window = float(self.limits["window_seconds"])
        now = time.monotonic()
        self.sent = [t for t in self.sent if t > now - window]
        reset = (self.sent[0] + window - now) if self.sent else window
        if len(self.sent) >= most:
            self.counts["rate_limited"] += 1
            return most, -1, max(reset, 0.001)
        self.sent.append(now)
        return most, most - len(self.sent), max(reset, 0.001)


def _split_name(name: str) -> dict[str, str]:
    first, _, last = name.strip().partition(" ")
    return {"first_name": first, "last_name": last}


def _person(state: State, body: dict[str, Any]) -> dict[str, Any]:
    emails = [{"label": "work", "primary": False, **e} for e in body.pop("emails", [])]
    if emails and not any(e["primary"] for e in emails):
        emails[0]["primary"] = True
    return {"org_id": None, "phones": [], **body, "emails": emails, **_split_name(body["name"])}


def _organization(state: State, body: dict[str, Any]) -> dict[str, Any]:
    return {"address": None, **body}


def _deal(state: State, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("stage_id"):
        pipeline_id = int(state.stages[body["stage_id"]]["pipeline_id"])
    else:
        pipeline_id = int(body.get("pipeline_id") or 1)
    stage_id = body.get("stage_id") or state.first_stage(pipeline_id)
    status = body.get("status", "open")
    stamp = now_iso()
    return {
        "creator_user_id": OWNER_ID,
        "person_id": None,
        "org_id": None,
        "value": 0,
        "currency": "EUR",
        "status": status,
        "probability": None,
        "lost_reason": None,
        "expected_close_date": None,
        "stage_change_time": None,
        "won_time": stamp if status == "won" else None,
        "lost_time": stamp if status == "lost" else None,
        "close_time": stamp if status in ("won", "lost") else None,
        **body,
        "pipeline_id": pipeline_id,
        "stage_id": stage_id,
    }


def _product(state: State, body: dict[str, Any]) -> dict[str, Any]:
    return {"code": None, "description": None, "unit": None, "tax": 0, "prices": [], **body}


BUILDERS = {"persons": _person, "organizations": _organization, "deals": _deal, "products": _product}


def searchable(record: Mapping[str, Any], fields: tuple[str, ...]) -> list[str]:
    values: list[str] = []
    for field in fields:
        if field == "email":
            values += [str(e.get("value") or "") for e in record.get("emails") or ()]
        elif field == "phone":
            values += [str(p.get("value") or "") for p in record.get("phones") or ()]
        elif field in ("name", "title", "code"):
            values.append(str(record.get(field) or ""))
    return values


def public(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}
