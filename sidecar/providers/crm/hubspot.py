"""HubSpot (CRM v3 objects, v4 associations) with a private-app access token.

No duplicates, by construction rather than by lookups (HubSpot's search lags by up to ~30 s):
- the contact is upserted by e-mail (``batch/upsert`` with ``idProperty: email``);
- the deal is upserted by the unique deal property ``woo_order_id`` (created with ``hasUniqueValue`` when
  missing), so a retry, a replay or a second worker updates the one deal of the order;
- line items are upserted by the unique line-item property ``woo_line_key`` ("<order id>-<position>"),
  so a changed order updates its lines in place instead of adding a second set;
- associations are PUT (v4 default) or batch-created, both idempotent.
A 409 that names the existing record ("Existing ID: 123") is answered by updating that record.

Every request takes a slot of the account's shared budget first (:mod:`sidecar.providers.crm.limits`)
and feeds the ``X-HubSpot-RateLimit-*`` headers back into it; a 429 pauses the whole account for its
Retry-After (or one window) and the request is sent again once, in-process, when that pause is short.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import requests

from sidecar.errors import BridgeError, PermanentError, TransientError
from sidecar.http import HttpClient, classify, retry_after_seconds
from sidecar.providers.crm.base import Contact, Deal, Known, Pipeline, Stage, Synced, fingerprint
from sidecar.providers.crm.hubspot_lines import chunks as _chunks
from sidecar.providers.crm.hubspot_lines import sync_lines
from sidecar.providers.crm.hubspot_properties import ensure_properties
from sidecar.providers.crm.limits import Budget, LocalLimiter, bounded_delay, seconds_to_next_hour

DEFAULT_BASE_URL = "https://api.hubapi.com"
RECORD_URL = "https://app.hubspot.com/contacts/{portal}/record/0-3/{deal}"
EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")
DEAL_TO_CONTACT = 3
RATE_LIMIT_TRIES = 3  # sends of one request while short 429 pauses last


def contact_properties(contact: Contact) -> dict[str, str]:
    """The contact as HubSpot properties: marketing consent details only when consent was given.

    The consent's version and time are always sent, empty without consent: "" clears a HubSpot property,
    so a withdrawal leaves no trace of the consent that was withdrawn."""
    props = {"email": contact.email, "firstname": contact.first_name, "lastname": contact.last_name}
    if contact.company:
        props["company"] = contact.company
    if contact.nip:
        props["woo_nip"] = contact.nip
    props["woo_marketing_consent"] = "true" if contact.marketing else "false"
    props["woo_consent_version"] = contact.consent_version if contact.marketing else ""
    props["woo_consent_at"] = (contact.consent_at or "") if contact.marketing else ""
    return props


def deal_properties(deal: Deal, stage: str) -> dict[str, str]:
    props = {
        "woo_order_id": str(deal.order_id),
        "woo_order_number": deal.number,
        "dealname": deal.name,
        "amount": str(deal.amount),
        "deal_currency_code": deal.currency,
        "pipeline": deal.pipeline,
        "dealstage": stage,
        "closedate": deal.close_date or "",
        "woo_invoice_number": deal.invoice_number,
        "woo_invoice_url": deal.invoice_url,
        "woo_return_state": deal.return_state,
    }
    return {k: v for k, v in props.items() if v}  # nothing is cleared: an empty value is left out


def _body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def plain_validation(body: Mapping[str, Any]) -> str:
    """HubSpot's validation message in plain words: "email: Email address x is invalid"."""
    message = str(body.get("message") or "")
    head, sep, rest = message.partition(": [")
    if sep:
        try:
            items = json.loads("[" + rest)
        except ValueError:
            items = None
        if isinstance(items, list) and items:
            parts = [f"{i.get('name')}: {i.get('message')}" for i in items if isinstance(i, dict)]
            return f"{head}: {'; '.join(parts)}"
    details = [
        str(e.get("message")) for e in body.get("errors") or () if isinstance(e, dict) and e.get("message")
    ]
    if details and not message:
        return "; ".join(details)
    if details and details[0] not in message:
        return f"{message} ({'; '.join(details)})"
    return message or "HubSpot gave no reason"


class HubSpotProvider:
    name: ClassVar[str] = "hubspot"
    label: ClassVar[str] = "HubSpot"

    def __init__(
        self, settings: Mapping[str, Any], http: HttpClient, *, limiter: Budget | None = None
    ) -> None:
        hub = settings.get("hubspot") or {}
        self.token = str(hub.get("access_token") or "")
        self.portal_id = str(hub.get("portal_id") or "")
        self.base = str(hub.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.http = http
        self.limiter: Budget = limiter if limiter is not None else LocalLimiter()
        self._pipelines: tuple[Pipeline, ...] | None = None
        if not self.token:
            raise PermanentError(
                "HubSpot has no access token: paste the private app's token in WooCommerce → Settings → "
                "BPM Bridge → CRM"
            )

    @staticmethod
    def account(settings: Mapping[str, Any]) -> str:
        """The portal (its id when the settings have it, else the token's digest: a new token of the same
        portal without a portal id in the settings re-sends the orders once, which upserts make harmless)."""
        hub = settings.get("hubspot") or {}
        portal = str(hub.get("portal_id") or "").strip()
        return (
            fingerprint("portal", portal)
            if portal
            else fingerprint("token", str(hub.get("access_token") or ""))
        )

    # -- the interface ------------------------------------------------------------------------------
    def sync_order(self, contact: Contact, deal: Deal, known: Known) -> Synced:
        self._ensure_properties(("contacts", "deals", *(("line_items",) if deal.line_items else ())))
        new: set[str] = set()
        contact_id, _ = self._upsert_one_record(
            "contacts", "email", contact.email, contact_properties(contact), "contact", new=new
        )
        stage = self._stage(deal, known)
        made: set[str] = set()
        deal_id, stored = self._upsert_one_record(
            "deals", "woo_order_id", str(deal.order_id), deal_properties(deal, stage), "deal", new=made
        )
        if (contact_id, deal_id) != (known.contact_id, known.deal_id):
            self._call(
                "PUT",
                f"/crm/v4/objects/deals/{deal_id}/associations/default/contacts/{contact_id}",
                what="the deal's link to the contact",
            )
        if deal.line_items:
            sync_lines(self, [(deal_id, deal, str(deal.order_id) not in made)])
        url, final = self.record_url(deal_id), str(stored.get("dealstage") or stage)
        return Synced(contact_id, deal_id, url, final, created=contact.email in new)

    def sync_contact(self, contact: Contact, known: Known) -> str:
        self._ensure_properties(("contacts",))
        return self._upsert_one("contacts", "email", contact.email, contact_properties(contact), "contact")

    def erase(self, email: str) -> str:
        self._call(
            "POST",
            "/crm/v3/objects/contacts/gdpr-delete",
            {"objectId": email, "idProperty": "email"},
            what="the GDPR deletion of the contact",
        )
        return (
            "HubSpot deleted the contact permanently (GDPR delete) and blocks the e-mail address from "
            "being added again."
        )

    def pipelines(self) -> tuple[Pipeline, ...]:
        if self._pipelines is None:
            body = self._call("GET", "/crm/v3/pipelines/deals", what="the deal pipelines")
            self._pipelines = tuple(
                Pipeline(
                    str(p.get("id")),
                    str(p.get("label") or p.get("id")),
                    tuple(
                        Stage(str(s.get("id")), str(s.get("label") or s.get("id")))
                        for s in sorted(p.get("stages") or (), key=lambda s: s.get("displayOrder") or 0)
                    ),
                )
                for p in sorted(body.get("results") or (), key=lambda p: p.get("displayOrder") or 0)
            )
        return self._pipelines

    def record_url(self, deal_id: str) -> str:
        return RECORD_URL.format(portal=self.portal_id, deal=deal_id) if self.portal_id else ""

    # -- many orders at once (the backfill) ---------------------------------------------------------
    def sync_batch(self, items: Sequence[tuple[Contact, Deal, Known]]) -> list[Synced | BridgeError]:
        """Up to 100 orders in a handful of requests; an order the batch could not take is sent alone,
        so one refused e-mail costs its own order, not the other 99."""
        if not items:
            return []
        self._ensure_properties(("contacts", "deals", "line_items"))
        contacts = {c.email: contact_properties(c) for c, _, _ in items}  # one input per e-mail, last wins
        contact_ids = self._batch_upsert("contacts", "email", list(contacts.items()), "contacts")
        # A deal only for an order whose contact HubSpot took: the others go alone below, where a refused
        # contact stops its order before a deal without a contact exists.
        deals = [
            (str(d.order_id), deal_properties(d, self._stage(d, k)))
            for c, d, k in items
            if c.email in contact_ids
        ]
        made: set[str] = set()
        deal_records = self._batch_upsert_records("deals", "woo_order_id", deals, "deals", new=made)
        done: dict[int, Synced] = {}
        links = []
        for contact, deal, known in items:
            contact_id = contact_ids.get(contact.email)
            record = deal_records.get(str(deal.order_id))
            if contact_id is None or record is None:
                continue
            deal_id, props = record
            done[deal.order_id] = Synced(
                contact_id, deal_id, self.record_url(deal_id), str(props.get("dealstage") or deal.stage)
            )
            if (contact_id, deal_id) != (known.contact_id, known.deal_id):
                links.append((deal_id, contact_id))
        self._associate("deals", "contacts", links, DEAL_TO_CONTACT)
        sync_lines(
            self,
            [
                (done[d.order_id].deal_id, d, str(d.order_id) not in made)
                for _, d, _ in items
                if d.order_id in done and d.line_items
            ],
        )
        results: list[Synced | BridgeError] = []
        for contact, deal, known in items:
            if deal.order_id in done:
                results.append(done[deal.order_id])
                continue
            try:
                results.append(self.sync_order(contact, deal, known))
            except BridgeError as exc:  # a TransientError too: the backfill sends that order again
                results.append(exc)
        return results

    # -- for sidecar.providers.crm.hubspot_lines ---------------------------------------------------------
    def upsert_records(
        self, object_type: str, id_property: str, inputs: Sequence[tuple[str, Mapping[str, str]]], what: str
    ) -> dict[str, tuple[str, Mapping[str, Any]]]:
        return self._batch_upsert_records(object_type, id_property, inputs, what)

    def associate(self, from_type: str, to_type: str, pairs: Sequence[tuple[str, str]], type_id: int) -> None:
        self._associate(from_type, to_type, pairs, type_id)

    def call(self, method: str, path: str, body: Any, *, what: str) -> Any:
        return self._call(method, path, body, what=what)

    # -- pieces ---------------------------------------------------------------------------------------
    def _stage(self, deal: Deal, known: Known) -> str:
        """The mapped stage; an unmapped status keeps an existing deal where it is (the property is left
        out) and puts a new one in the pipeline's first stage (HubSpot requires a stage on create)."""
        if deal.stage or known.deal_id:
            return deal.stage
        for pipeline in self.pipelines():
            if pipeline.id == deal.pipeline and pipeline.stages:
                return pipeline.stages[0].id
        raise PermanentError(
            f'HubSpot has no deal pipeline {deal.pipeline!r}: choose one with "Load stages" in WooCommerce → '
            "Settings → BPM Bridge → CRM"
        )

    def _associate(
        self, from_type: str, to_type: str, pairs: Sequence[tuple[str, str]], type_id: int
    ) -> None:
        for chunk in _chunks(pairs):
            inputs = [
                {
                    "from": {"id": a},
                    "to": {"id": b},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
                }
                for a, b in chunk
            ]
            self._call(
                "POST",
                f"/crm/v4/associations/{from_type}/{to_type}/batch/create",
                {"inputs": inputs},
                what=f"the links of {from_type.replace('_', ' ')} to {to_type}",
            )

    def _upsert_one(
        self, object_type: str, id_property: str, key: str, props: Mapping[str, str], what: str
    ) -> str:
        return self._upsert_one_record(object_type, id_property, key, props, what)[0]

    def _upsert_one_record(
        self,
        object_type: str,
        id_property: str,
        key: str,
        props: Mapping[str, str],
        what: str,
        new: set[str] | None = None,
    ) -> tuple[str, Mapping[str, Any]]:
        records = self._batch_upsert_records(
            object_type, id_property, [(key, props)], what, one=True, new=new
        )
        if key not in records:
            raise PermanentError(f"HubSpot answered the {what} upsert without the {what}")
        return records[key]

    def _batch_upsert(
        self, object_type: str, id_property: str, inputs: Sequence[tuple[str, Mapping[str, str]]], what: str
    ) -> dict[str, str]:
        records = self._batch_upsert_records(object_type, id_property, inputs, what)
        return {key: record[0] for key, record in records.items()}

    def _batch_upsert_records(
        self,
        object_type: str,
        id_property: str,
        inputs: Sequence[tuple[str, Mapping[str, str]]],
        what: str,
        one: bool = False,
        new: set[str] | None = None,
    ) -> dict[str, tuple[str, Mapping[str, Any]]]:
        """key → (id, properties) of every input HubSpot took. With ``one``, a refusal raises; for a batch
        a refused batch is an empty answer (the caller sends those orders one by one). ``new`` collects
        the keys HubSpot created rather than updated."""
        found: dict[str, tuple[str, Mapping[str, Any]]] = {}
        for chunk in _chunks(inputs):
            body = {
                "inputs": [{"idProperty": id_property, "id": key, "properties": dict(p)} for key, p in chunk]
            }
            path = f"/crm/v3/objects/{object_type}/batch/upsert"
            try:
                answer = self._call("POST", path, body, what=f"the {what}", conflict=True)
            except PermanentError:
                if one:
                    raise
                continue
            if "conflict_id" in answer:
                if len(chunk) != 1:
                    # The 409 names one record but not its input: halves, down to the conflicting one,
                    # so one just-created contact costs a few requests, not the whole batch sent singly.
                    half = len(chunk) // 2
                    for part in (chunk[:half], chunk[half:]):
                        found.update(
                            self._batch_upsert_records(object_type, id_property, part, what, new=new)
                        )
                    continue
                key, props = chunk[0]
                record = self._call(
                    "PATCH",
                    f"/crm/v3/objects/{object_type}/{answer['conflict_id']}",
                    {"properties": dict(props)},
                    what=f"the {what}",
                )
                found[key] = (str(record.get("id") or answer["conflict_id"]), record.get("properties") or {})
                continue
            for result in answer.get("results") or ():
                props = result.get("properties") or {}
                key = str(props.get(id_property) or "")
                if id_property == "email":
                    key = key.lower()
                if not key and len(chunk) == 1:
                    key = chunk[0][0]
                if key:
                    found[key] = (str(result.get("id")), props)
                    if new is not None and result.get("new") is not False:
                        new.add(key)  # an answer that does not say is taken as new: one link too many
            errors = answer.get("errors") or ()
            if one and errors and not found:
                raise PermanentError(f"HubSpot refused the {what}: {plain_validation(errors[0])}")
        return found

    def _ensure_properties(self, object_types: Sequence[str]) -> None:
        ensure_properties(self, object_types)

    # -- HTTP ----------------------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        what: str,
        conflict: bool = False,
        missing_ok: bool = False,
    ) -> Any:
        """The JSON answer; ``{"conflict_id": id}`` for a 409 naming one (``conflict``); None for a 404
        (``missing_ok``); the error vocabulary for everything else."""
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        for attempt in range(1, RATE_LIMIT_TRIES + 1):
            slot = self.limiter.acquire()
            response = self.http.request(method, self.base + path, json=body, headers=headers)
            self.limiter.observe(response.headers, slot)
            if response.status_code != 429:
                break
            self._rate_limited(response, last=attempt == RATE_LIMIT_TRIES)
        status = response.status_code
        if status < 300:
            return _body(response) if response.content else {}
        answer = _body(response)
        if status == 404 and missing_ok:
            return None
        if status == 409 and conflict:
            found = EXISTING_ID.search(str(answer.get("message") or ""))
            if found:
                return {"conflict_id": found.group(1)}
            if method == "POST" and "/properties/" in path:
                return {}  # created meanwhile by another worker: it exists, which is all we need
        self._raise(response, answer, what)
        return None  # not reached

    def _rate_limited(self, response: requests.Response, *, last: bool) -> None:
        answer = _body(response)
        policy = str(answer.get("policyName") or "")
        if policy == "DAILY":
            delay = bounded_delay(seconds_to_next_hour(), window=None)
            self.limiter.pause(delay)
            raise TransientError(
                "HubSpot's daily API limit for this account is used up; BPM Bridge tries again in about "
                f"{round(delay / 60)} minutes (the limit resets at midnight in the HubSpot account's "
                "time zone)",
                delay,
            )
        # A burst policy's window: SECONDLY is one second, the rolling one its interval header says.
        interval = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
        window = int(interval) / 1000 if interval and interval.isdigit() else 10.0
        if policy == "SECONDLY":
            window = 1.0
        delay = bounded_delay(retry_after_seconds(response), window=window)
        self.limiter.pause(delay)
        if last:
            raise TransientError(
                f"HubSpot's request limit ({policy or 'burst'}) was reached; the sync waits and tries again",
                delay,
            )

    def _raise(self, response: requests.Response, answer: Mapping[str, Any], what: str) -> None:
        status = response.status_code
        category = str(answer.get("category") or "")
        message = str(answer.get("message") or "")
        if status == 401:
            raise PermanentError(
                f"HubSpot refused the access token ({category or 'HTTP 401'}): check the private app's token "
                "in WooCommerce → Settings → BPM Bridge → CRM"
            )
        if status == 403:
            raise PermanentError(
                f"HubSpot refused the access token for {what}: {message or category or 'HTTP 403'} "
                "(the private app needs the CRM scopes for contacts, deals, line items and schemas)"
            )
        if 400 <= status < 500 and status != 429 and status != 408:
            raise PermanentError(f"HubSpot refused {what}: {plain_validation(answer)}")
        classify(response, "HubSpot", f"HubSpot answered HTTP {status} to {what}")
