"""HubSpot's schema-side routes: properties (``/crm/v3/properties``), deal pipelines
(``/crm/v3/pipelines``), v4 associations (``/crm/v4/objects/…/associations``), the private-app usage
probe; plus the HubSpot-specific sandbox control (pipelines, limit counters)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sidecar.sandbox.hubspot import rules
from sidecar.sandbox.hubspot.errors import error, not_found, validation
from sidecar.sandbox.hubspot.routes import answer, body_object
from sidecar.sandbox.hubspot.state import State


def spec(f: str, t: str) -> dict[str, Any]:
    """The unlabelled HUBSPOT_DEFINED association from type ``f`` to type ``t``."""
    return {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": rules.ASSOCIATION_TYPES[(f, t)]}


def meta_blueprint(state: State) -> Blueprint:
    api = Blueprint("hubspot_meta", __name__)

    def typed(view: Callable[..., Response]) -> Callable[..., Response]:
        def wrapper(otype: str, **kwargs: Any) -> Response:
            kind = rules.OBJECT_TYPES.get(otype)
            if kind is None:
                return error(f"Unable to infer object type from: {otype}", 400)  # UNCONFIRMED wording
            return view(kind, **kwargs)

        wrapper.__name__ = view.__name__
        return wrapper

    # -- properties --------------------------------------------------------------------------------
    @api.get("/crm/v3/properties/<otype>")
    @typed
    def properties(kind: str) -> Response:
        with state.lock:
            return jsonify({"results": list(state.properties[kind].values())})

    @api.get("/crm/v3/properties/<otype>/<name>")
    @typed
    def property_read(kind: str, name: str) -> Response:
        with state.lock:
            definition = state.properties[kind].get(name)
            if definition is None:
                # UNCONFIRMED wording of the 404.
                return error(
                    f"property {name} does not exist for {rules.SINGULAR[kind]}", 404, "OBJECT_NOT_FOUND"
                )
            return jsonify(definition)

    @api.post("/crm/v3/properties/<otype>")
    @typed
    def property_create(kind: str) -> Response:
        body = body_object()
        if body is None:
            return validation("Invalid input JSON: the body must be an object")
        problem = rules.check_new_property(kind, body)
        if problem:
            return validation(problem)
        with state.lock:
            if body["name"] in state.properties[kind]:
                # UNCONFIRMED wording and category of the 409.
                return error(
                    f"A property named '{body['name']}' already exists.", 409, "OBJECT_ALREADY_EXISTS"
                )
            definition = rules.custom_property(body, rules.now_iso())
            state.properties[kind][definition["name"]] = definition
            return answer(definition, 201)

    # -- pipelines ---------------------------------------------------------------------------------
    @api.get("/crm/v3/pipelines/<otype>")
    def pipelines(otype: str) -> Response:
        if rules.OBJECT_TYPES.get(otype) != "deals":
            return not_found()  # the simulator keeps deal pipelines only
        with state.lock:
            return jsonify({"results": sorted(state.pipelines.values(), key=lambda p: p["displayOrder"])})

    @api.get("/crm/v3/pipelines/<otype>/<pid>")
    def pipeline(otype: str, pid: str) -> Response:
        with state.lock:
            found = state.pipelines.get(pid) if rules.OBJECT_TYPES.get(otype) == "deals" else None
            return jsonify(found) if found else not_found()

    # -- associations v4 ---------------------------------------------------------------------------
    def pair(from_type: str, to_type: str) -> tuple[str, str] | Response:
        kind, to_kind = rules.OBJECT_TYPES.get(from_type), rules.OBJECT_TYPES.get(to_type)
        if not kind or not to_kind or (kind, to_kind) not in rules.ASSOCIATION_TYPES:
            return validation(f"Association from {from_type} to {to_type} is not supported")  # UNCONFIRMED
        return kind, to_kind

    def existing(kind: str, oid: str, to_kind: str, to_id: str) -> Response | None:
        for k, i in ((kind, oid), (to_kind, to_id)):
            if i not in state.objects[k]:
                # UNCONFIRMED: status and wording for an association to a missing record.
                return error(f"No {rules.SINGULAR[k]} with id {i} exists", 404, "OBJECT_NOT_FOUND")
        return None

    @api.put("/crm/v4/objects/<from_type>/<oid>/associations/default/<to_type>/<to_id>")
    def associate_default(from_type: str, oid: str, to_type: str, to_id: str) -> Response:
        kinds = pair(from_type, to_type)
        if isinstance(kinds, Response):
            return kinds
        kind, to_kind = kinds
        started = rules.now_iso()
        with state.lock:
            missing = existing(kind, oid, to_kind, to_id)
            if missing:
                return missing
            state.associate(kind, oid, to_kind, to_id)

        results = [
            {"from": {"id": oid}, "to": {"id": to_id}, "associationSpec": spec(kind, to_kind)},
            {"from": {"id": to_id}, "to": {"id": oid}, "associationSpec": spec(to_kind, kind)},
        ]
        return jsonify(
            {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": rules.now_iso()}
        )

    @api.put("/crm/v4/objects/<from_type>/<oid>/associations/<to_type>/<to_id>")
    def associate_labelled(from_type: str, oid: str, to_type: str, to_id: str) -> Response:
        kinds = pair(from_type, to_type)
        if isinstance(kinds, Response):
            return kinds
        kind, to_kind = kinds
        specs = request.get_json(silent=True)
        if not isinstance(specs, list) or not specs:
            return validation("The body must be a list of association types")
        for spec in specs:
            type_id = str((spec or {}).get("associationTypeId"))
            target = rules.TYPE_TARGETS.get((kind, int(type_id))) if type_id.isdigit() else None
            if (spec or {}).get("associationCategory") != "HUBSPOT_DEFINED" or target != to_kind:
                return validation(f"{type_id} is not a valid association type from {from_type} to {to_type}")
        with state.lock:
            missing = existing(kind, oid, to_kind, to_id)
            if missing:
                return missing
            for spec in specs:
                state.associate(kind, oid, to_kind, to_id, int(spec["associationTypeId"]))
        return answer(
            {
                "fromObjectTypeId": rules.TYPE_IDS[kind],
                "fromObjectId": int(oid),
                "toObjectTypeId": rules.TYPE_IDS[to_kind],
                "toObjectId": int(to_id),
                "labels": [],
            },
            201,
        )

    @api.delete("/crm/v4/objects/<from_type>/<oid>/associations/<to_type>/<to_id>")
    def dissociate(from_type: str, oid: str, to_type: str, to_id: str) -> Response:
        kinds = pair(from_type, to_type)
        if isinstance(kinds, Response):
            return kinds
        with state.lock:
            state.dissociate(kinds[0], oid, kinds[1], to_id)
        return Response(status=204)

    @api.get("/crm/v4/objects/<from_type>/<oid>/associations/<to_type>")
    def associations(from_type: str, oid: str, to_type: str) -> Response:
        kinds = pair(from_type, to_type)
        if isinstance(kinds, Response):
            return kinds
        kind, to_kind = kinds
        with state.lock:
            if oid not in state.objects[kind]:
                return not_found()
            found = state.associated(kind, oid, to_kind)
        results = [
            {
                "toObjectId": int(to_id),
                "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": t, "label": None} for t in sorted(types)
                ],
            }
            for to_id, types in found.items()
        ]
        return jsonify({"results": results})

    def batch_pairs(kind: str, to_kind: str, labelled: bool) -> list[tuple[str, str, list[int]]] | Response:
        """Each input as (from id, to id, type ids), every one checked before anything is written."""
        inputs = (body_object() or {}).get("inputs")
        if not isinstance(inputs, list) or len(inputs) > int(state.batch["max_inputs"]):
            return validation("inputs must be a list of at most 100 associations")  # UNCONFIRMED limit
        default = rules.ASSOCIATION_TYPES[(kind, to_kind)]
        pairs = []
        for item in inputs:
            item = item if isinstance(item, dict) else {}
            oid = str((item.get("from") or {}).get("id") or "")
            to_id = str((item.get("to") or {}).get("id") or "")
            types = []
            for given in (item.get("types") or []) if labelled else []:
                type_id = str((given or {}).get("associationTypeId"))
                if not type_id.isdigit() or rules.TYPE_TARGETS.get((kind, int(type_id))) != to_kind:
                    return validation(f"{type_id} is not a valid association type from {kind} to {to_kind}")
                types.append(int(type_id))
            missing = existing(kind, oid, to_kind, to_id)
            if missing:
                return missing  # UNCONFIRMED: one missing record refuses the batch, nothing is written
            pairs.append((oid, to_id, types or [default]))
        return pairs

    @api.post("/crm/v4/associations/<from_type>/<to_type>/batch/create")
    def associate_batch(from_type: str, to_type: str) -> Response:
        kinds = pair(from_type, to_type)
        if isinstance(kinds, Response):
            return kinds
        kind, to_kind = kinds
        started = rules.now_iso()
        with state.lock:
            pairs = batch_pairs(kind, to_kind, labelled=True)
            if isinstance(pairs, Response):
                return pairs
            for oid, to_id, types in pairs:
                for type_id in types:
                    state.associate(kind, oid, to_kind, to_id, type_id)
        results = [
            {
                "fromObjectTypeId": rules.TYPE_IDS[kind],
                "fromObjectId": int(oid),
                "toObjectTypeId": rules.TYPE_IDS[to_kind],
                "toObjectId": int(to_id),
                "labels": [],
            }
            for oid, to_id, _ in pairs
        ]
        return answer(
            {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": rules.now_iso()},
            201,
        )

    @api.post("/crm/v4/associations/<from_type>/<to_type>/batch/associate/default")
    def associate_batch_default(from_type: str, to_type: str) -> Response:
        kinds = pair(from_type, to_type)
        if isinstance(kinds, Response):
            return kinds
        kind, to_kind = kinds
        started = rules.now_iso()
        with state.lock:
            pairs = batch_pairs(kind, to_kind, labelled=False)
            if isinstance(pairs, Response):
                return pairs
            for oid, to_id, _ in pairs:
                state.associate(kind, oid, to_kind, to_id)
        results = [
            {"from": {"id": a}, "to": {"id": b}, "associationSpec": spec(f, t)}
            for oid, to_id, _ in pairs
            for a, b, f, t in ((oid, to_id, kind, to_kind), (to_id, oid, to_kind, kind))
        ]
        return jsonify(
            {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": rules.now_iso()}
        )

    @api.post("/crm/v4/associations/<from_type>/<to_type>/batch/archive")
    def dissociate_batch(from_type: str, to_type: str) -> Response:
        kinds = pair(from_type, to_type)
        if isinstance(kinds, Response):
            return kinds
        inputs = (body_object() or {}).get("inputs")
        if not isinstance(inputs, list):
            return validation("inputs must be a list")
        with state.lock:
            for item in inputs:
                item = item if isinstance(item, dict) else {}
                oid = str((item.get("from") or {}).get("id") or "")
                given = item.get("to")
                targets: list[Any] = given if isinstance(given, list) else [given or {}]
                for target in targets:
                    state.dissociate(kinds[0], oid, kinds[1], str((target or {}).get("id") or ""))
        return Response(status=204)

    # -- account -----------------------------------------------------------------------------------
    @api.get("/account-info/v3/api-usage/daily/private-apps")
    def usage() -> Response:
        limits = state.limits.snapshot()
        return jsonify(
            {
                "results": [
                    {
                        "name": "api-calls-daily",
                        "usageLimit": limits["settings"]["daily_max"],
                        "currentUsage": limits["daily_used"],
                        "collectedAt": rules.now_iso(),
                        "fetchStatus": "SUCCESS",
                    }
                ]
            }
        )

    return api


def sandbox_blueprint(state: State) -> Blueprint:
    """HubSpot-only control: add a deal pipeline; read the limit counters (what a benchmark needs)."""
    control = Blueprint("hubspot_control", __name__, url_prefix="/_sandbox")

    @control.post("/pipelines")
    def add_pipeline() -> Response:
        body = request.get_json(silent=True) or {}
        stages = body.get("stages") or []
        if not body.get("id") or not isinstance(stages, list) or not stages:
            return validation("id and stages [{id, label, probability?, closed?}] are required")
        with state.lock:
            state.pipelines[str(body["id"])] = rules.pipeline(
                str(body["id"]),
                str(body.get("label") or body["id"]),
                [
                    (
                        str(s["id"]),
                        str(s.get("label") or s["id"]),
                        str(s.get("probability", "0.5")),
                        "true" if s.get("closed") else "false",
                    )
                    for s in stages
                ],
                len(state.pipelines),
                rules.now_iso(),
            )
            return jsonify(state.pipelines[str(body["id"])])

    @control.get("/limits")
    def limits() -> Response:
        return jsonify(state.limits.snapshot())

    return control
