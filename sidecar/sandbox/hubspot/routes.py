"""HubSpot's CRM object routes (``/crm/v3/objects/{type}/…``) over one
:class:`~sidecar.sandbox.hubspot.state.State`: create, read, update, archive, the batch calls (create,
read, update, upsert, archive), GDPR delete."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sidecar.sandbox.faults import lost_response
from sidecar.sandbox.hubspot import rules
from sidecar.sandbox.hubspot.errors import Refusal, error, object_missing, validation
from sidecar.sandbox.hubspot.search import search_view
from sidecar.sandbox.hubspot.state import State

OBJECTS = "/crm/v3/objects/<otype>"


def answer(payload: Any, status: int = 200) -> Response:
    response = jsonify(payload)
    response.status_code = status
    return response


def refused(exc: Refusal) -> Response:
    extra = {"context": exc.entry()["context"]} if exc.context else {}
    return error(exc.message, exc.status, exc.category, **extra)


def body_object() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


def wanted_properties() -> list[str] | None:
    raw = request.args.get("properties")
    return [p.strip() for p in raw.split(",") if p.strip()] if raw else None


def batch_inputs(body: Mapping[str, Any] | None, limit: int) -> list[Any] | Response:
    inputs = (body or {}).get("inputs")
    if not isinstance(inputs, list):
        return validation("Invalid input JSON on line 1: inputs must be a list")  # UNCONFIRMED wording
    if len(inputs) > limit:
        # UNCONFIRMED wording; the limit of 100 inputs is commonly cited.
        return validation(f"Batch input is limited to {limit} inputs; {len(inputs)} were sent")
    return inputs


def batch_answer(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str, ok: int, order: str = "input"
) -> Response:
    # HubSpot does not promise results in input order (UNCONFIRMED either way): "reversed" shows a client
    # that matches results to inputs by position.
    payload: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results[::-1] if order == "reversed" else results,
        "requestedAt": started,
        "startedAt": started,
        "completedAt": rules.now_iso(),
    }
    if errors:
        # 207 with ``numErrors``/``errors`` (BatchResponse…WithErrors), as seen on batch upsert.
        payload.update(numErrors=len(errors), errors=errors)
        return answer(payload, 207)
    return answer(payload, ok)


def api_blueprint(state: State) -> Blueprint:
    api = Blueprint("hubspot_objects", __name__)

    def typed(view: Callable[..., Response]) -> Callable[..., Response]:
        def wrapper(otype: str, **kwargs: Any) -> Response:
            kind = rules.OBJECT_TYPES.get(otype)
            if kind is None:
                return error(f"Unable to infer object type from: {otype}", 400)  # UNCONFIRMED wording
            return view(kind, **kwargs)

        wrapper.__name__ = view.__name__
        return wrapper

    def delivered(response: Response) -> Response:
        """After a commit: the response, unless a ``drop_after_commit`` fault loses it."""
        return lost_response() if state.faults.drop_after_commit() else response

    @api.post(OBJECTS)
    @typed
    def create(kind: str) -> Response:
        body = body_object()
        if body is None:
            return validation("Invalid input JSON: the body must be an object")
        with state.lock:
            try:
                record = state.create(kind, body.get("properties") or {}, body.get("associations"))
            except Refusal as exc:
                return refused(exc)
            payload = state.written(record, body.get("properties") or {})
        return delivered(answer(payload, 201))

    @api.get(OBJECTS)
    @typed
    def listing(kind: str) -> Response:
        try:
            limit = min(100, max(1, int(request.args.get("limit", 10))))
            after = int(request.args.get("after", 0))
        except ValueError:
            return validation("limit and after must be integers")
        with state.lock:
            records = sorted(state.objects[kind].values(), key=lambda r: int(r["id"]))
            chunk = [r for r in records if int(r["id"]) > after][:limit]
            payload: dict[str, Any] = {"results": [state.public(r, wanted_properties()) for r in chunk]}
            if chunk and int(chunk[-1]["id"]) < int(records[-1]["id"]):
                payload["paging"] = {"next": {"after": str(int(chunk[-1]["id"]))}}
        return answer(payload)

    @api.get(f"{OBJECTS}/<oid>")
    @typed
    def read(kind: str, oid: str) -> Response:
        with state.lock:
            record = state.get(kind, oid, request.args.get("idProperty"))
            if record is None:
                return object_missing(oid)
            payload = state.public(record, wanted_properties())
            asked = [
                rules.OBJECT_TYPES.get(t.strip()) for t in request.args.get("associations", "").split(",")
            ]
            links = {}
            for to_kind in filter(None, asked):
                assert to_kind is not None
                found = state.associated(kind, record["id"], to_kind)
                if found:
                    label = f"{rules.SINGULAR[kind]}_to_{rules.SINGULAR[to_kind]}"
                    links[to_kind] = {"results": [{"id": i, "type": label} for i in found]}
            if links:
                payload["associations"] = links
        return answer(payload)

    @api.patch(f"{OBJECTS}/<oid>")
    @typed
    def update(kind: str, oid: str) -> Response:
        body = body_object()
        if body is None:
            return validation("Invalid input JSON: the body must be an object")
        with state.lock:
            record = state.get(kind, oid, request.args.get("idProperty"))
            if record is None:
                return object_missing(oid)
            try:
                state.update(record, body.get("properties") or {})
            except Refusal as exc:
                return refused(exc)
            payload = state.written(record, body.get("properties") or {})
        return delivered(answer(payload))

    @api.delete(f"{OBJECTS}/<oid>")
    @typed
    def archive(kind: str, oid: str) -> Response:
        with state.lock:
            state.archive(kind, oid)  # archiving a missing id is not an error (UNCONFIRMED)
        return delivered(Response(status=204))

    @api.post(f"{OBJECTS}/batch/create")
    @typed
    def batch_create(kind: str) -> Response:
        inputs = batch_inputs(body_object(), int(state.batch["max_inputs"]))
        if isinstance(inputs, Response):
            return inputs
        started = rules.now_iso()
        with state.lock:
            # A batch create is all or nothing; a conflict names only the first existing record (python
            # client issue #51).
            prepared = []
            seen: dict[tuple[str, str], int] = {}
            for index, item in enumerate(inputs):
                item = item if isinstance(item, Mapping) else {}
                try:
                    values, links = state.prepare(
                        kind, item.get("properties") or {}, item.get("associations")
                    )
                except Refusal as exc:
                    return refused(exc)
                for name, value in values.items():
                    if value and state.is_unique(kind, name):
                        key = (name, value.lower() if name == "email" else value)
                        if key in seen:
                            return validation(f"Duplicate {name} {value} in inputs {seen[key]} and {index}")
                        seen[key] = index
                prepared.append((values, links, item.get("properties") or {}))
            results = [state.written(state.insert(kind, v, links), sent) for v, links, sent in prepared]
        return delivered(batch_answer(results, [], started, 201, state.batch["order"]))

    @api.post(f"{OBJECTS}/batch/archive")
    @typed
    def batch_archive(kind: str) -> Response:
        inputs = batch_inputs(body_object(), int(state.batch["max_inputs"]))
        if isinstance(inputs, Response):
            return inputs
        with state.lock:
            for item in inputs:
                state.archive(kind, str((item or {}).get("id") or ""))  # unknown ids pass (UNCONFIRMED)
        return delivered(Response(status=204))

    @api.post(f"{OBJECTS}/batch/read")
    @typed
    def batch_read(kind: str) -> Response:
        body = body_object()
        inputs = batch_inputs(body, int(state.batch["max_inputs"]))
        if isinstance(inputs, Response):
            return inputs
        assert body is not None
        names = body.get("properties") if isinstance(body.get("properties"), list) else None
        started = rules.now_iso()
        results, errors = [], []
        with state.lock:
            for item in inputs:
                key = str((item or {}).get("id") or "")
                record = state.get(kind, key, body.get("idProperty"))
                if record is None:
                    errors.append(
                        Refusal(
                            404,
                            f"Could not get some {kind} objects, they may be deleted or not exist.",
                            "OBJECT_NOT_FOUND",
                            ids=[key],
                        ).entry()
                    )
                else:
                    results.append(state.public(record, names))
        return batch_answer(results, errors, started, 200, state.batch["order"])

    @api.post(f"{OBJECTS}/batch/update")
    @typed
    def batch_update(kind: str) -> Response:
        return _batch_write(kind, upsert=False)

    @api.post(f"{OBJECTS}/batch/upsert")
    @typed
    def batch_upsert(kind: str) -> Response:
        return _batch_write(kind, upsert=True)

    def _batch_write(kind: str, upsert: bool) -> Response:
        inputs = batch_inputs(body_object(), int(state.batch["max_inputs"]))
        if isinstance(inputs, Response):
            return inputs
        started = rules.now_iso()
        with state.lock:
            plan = _plan(state, kind, inputs, upsert)
            if isinstance(plan, Response):
                return plan
            whole = state.batch["errors"] == "whole_batch"
            results, errors = [], []
            for id_property, key, props in plan:
                try:
                    record = state.get(kind, key, id_property)
                    if record is None and not upsert:
                        raise Refusal(
                            404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND"
                        )
                    if record is None and id_property == "hs_object_id":
                        raise Refusal(
                            404, f"No {rules.SINGULAR[kind]} with id {key}", "OBJECT_NOT_FOUND", id=key
                        )
                    if upsert and record is not None and state.just_created(record):
                        # UNCONFIRMED quirk (off by default): an upsert racing the create of the same
                        # record is answered as the create's conflict, for the whole request.
                        label = rules.LABELS[kind]
                        return error(f"{label} already exists. Existing ID: {record['id']}", 409, "CONFLICT")
                    if whole and record is not None:
                        state.check_update(record, props)
                    elif whole:
                        state.prepare(kind, props)
                except Refusal as exc:
                    if whole:  # UNCONFIRMED alternative: one bad input refuses the batch, nothing written
                        return refused(exc)
                    errors.append({**exc.entry(), "context": {**exc.entry()["context"], "ids": [key]}})
            for id_property, key, props in plan:
                record = state.get(kind, key, id_property)
                if record is None and (not upsert or id_property == "hs_object_id"):
                    continue
                try:
                    if record is None:
                        record = state.create(kind, props)
                        created = True
                    else:
                        state.update(record, props)
                        created = False
                except Refusal as exc:
                    errors.append({**exc.entry(), "context": {**exc.entry()["context"], "ids": [key]}})
                    continue
                shown = state.written(record, props)
                results.append({**shown, "new": created} if upsert else shown)
        return delivered(batch_answer(results, errors, started, 200, state.batch["order"]))

    @api.post("/crm/v3/objects/contacts/gdpr-delete")
    def gdpr_delete() -> Response:
        body = body_object() or {}
        key, id_property = str(body.get("objectId") or ""), body.get("idProperty")
        if not key:
            return validation("objectId can not be null or empty")
        with state.lock:
            if id_property == "email":
                state.gdpr_delete(key)
            elif id_property in (None, "", "hs_object_id"):
                record = state.objects["contacts"].get(key)
                if record is None:
                    return object_missing(key)
                state.gdpr_delete(str(record["properties"].get("email") or ""))
                state.archive("contacts", key)
            else:
                return validation(f"idProperty {id_property} is not supported for a GDPR delete")
        return delivered(Response(status=204))

    api.add_url_rule(f"{OBJECTS}/search", "search", typed(search_view(state)), methods=["POST"])
    return api


def _plan(state: State, kind: str, inputs: list[Any], upsert: bool) -> list[tuple[str, str, dict]] | Response:
    """Each input as (idProperty, id, properties), or the refusal of the whole request."""
    plan: list[tuple[str, str, dict]] = []
    seen: set[str] = set()
    for item in inputs:
        item = item if isinstance(item, Mapping) else {}
        key = str(item.get("id") or "").strip()
        id_property = str(item.get("idProperty") or "hs_object_id")
        props = dict(item.get("properties") or {}) if isinstance(item.get("properties"), Mapping) else {}
        if not key:
            return validation("id can not be null or empty")
        if id_property != "hs_object_id":
            definition = state.properties[kind].get(id_property)
            if definition is None:
                # UNCONFIRMED wording: upserting by a property the account does not have.
                return validation(
                    f'Property "{id_property}" does not exist', context={"idProperty": [id_property]}
                )
            if not definition["hasUniqueValue"]:
                # UNCONFIRMED wording: only a unique property can identify records.
                return validation(
                    f"{id_property} is not a unique property; only properties with "
                    "hasUniqueValue can be used as idProperty",
                    context={"idProperty": [id_property]},
                )
            props[id_property] = key
        folded = key.lower() if (kind, id_property) == ("contacts", "email") else key
        if folded in seen:
            # UNCONFIRMED wording (HubSpot refuses duplicate ids in one batch).
            return validation(f"Duplicate IDs found in batch input: [{key}]. IDs must be unique")
        seen.add(folded)
        plan.append((id_property, key, props))
    return plan
