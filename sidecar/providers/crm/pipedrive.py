"""Pipedrive (API v2) with a company API token.

Pipedrive has no upsert and its search index lags behind writes, so "search, then create" alone can create
a buyer twice: the second order of a buyer minutes after the first (another order, so another lock) or the
retry of a create whose answer was lost both search, find nothing yet, and create. The guards, in order:

1. the ids stored on the order (:class:`Known`: ``_bpm_crm_contact_id``, ``_bpm_crm_id``), read back
   (``GET``) before use so a person merged or deleted in Pipedrive is not written to;
2. a short-lived shared record per buyer (the e-mail's SHA-256, never the address), per organization name
   and per order in the worker's Redis (:mod:`sidecar.providers.crm.pipedrive_memory`): ``pending:<time>``
   while a create is on the wire (``SET NX``: one creator per key across every worker; the time is stamped
   in Redis' clock just as the request goes out, after any wait for the rate limit), ``lost:<time>`` when
   its answer was lost, then the new id for a day. A second sync finding ``pending`` waits (TransientError)
   for at most ``search_lag_seconds`` (default 60 s). Before anyone creates over a ``lost`` or a stale
   ``pending`` claim, it reads v2's listing (``GET /persons?updated_since=…&sort_by=add_time``), which
   reads the records, not the lagging search index, and takes a match from it (deals: exact title *and*
   the same person);
3. the exact search (``persons/search?fields=email&exact_match=true``, the oldest match wins).
Honest limit: a second record can still be created when Redis is wiped between a lost answer and its
retry while the search index lags, or when our clock and Pipedrive's differ by more than two minutes.

Deal status follows the order: completed → won, cancelled / refunded / failed → lost, everything else open
(a lost deal re-opens when the order comes back). The invoice number, its PDF link and the return's state
go into one pinned deal note of ours (starting "BPM Bridge"), updated in place (notes are v1). The stage
is the mapped stage id; a stage Pipedrive does not know (or one of another pipeline) is a permanent error
in plain words. Line items become products
(found by SKU, else by exact name, created when missing) attached to the deal and reconciled on every sync
(changed rows patched, missing added, extra removed). A B2B buyer's company becomes an organization
(exact name search, the same guards) linked to the person and the deal; the NIP is not sent (Pipedrive keeps
tax ids only in custom fields, whose keys differ per account).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sidecar.errors import PermanentError, TransientError
from sidecar.http import HttpClient
from sidecar.providers.crm.base import Contact, Deal, Known, LineItem, Pipeline, Stage, Synced, fingerprint
from sidecar.providers.crm.limits import Budget, LocalLimiter, RateLimiter
from sidecar.providers.crm.pipedrive_http import (
    CLAIM_TTL,
    SETTINGS_PATH,
    PipedriveHttp,
    _Missing,
)
from sidecar.providers.crm.pipedrive_memory import LOST as ANSWER_LOST
from sidecar.providers.crm.pipedrive_memory import (
    PENDING,
    LocalMemory,
    Memory,
    RedisMemory,
    digest,
    parse,
    stamp,
)

PREFIX = "bpm:crm:pipedrive:"
RECORD_TTL = 86400  # a created id is remembered for a day: far longer than any index lag
NOTE_MARK = "<b>BPM Bridge</b>"  # our deal note starts with it; a salesperson's notes are left alone
MARKER_TTL = 10 * 365 * 86400  # "made for this buyer" outlives any erasure request
CLOCK_MARGIN = 120.0  # seconds our Redis clock and Pipedrive's may differ by, for the listing's window
LIST_LIMIT = 100
LIST_PAGES = 3
DEFAULT_SEARCH_LAG = 60.0  # UNCONFIRMED: Pipedrive documents no figure (HubSpot's is ~30 s)
WON, LOST = ("completed",), ("cancelled", "refunded", "failed")


def deal_status(order_status: str) -> str:
    return "won" if order_status in WON else "lost" if order_status in LOST else "open"


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


class PipedriveProvider(PipedriveHttp):
    name: ClassVar[str] = "pipedrive"
    label: ClassVar[str] = "Pipedrive"

    def __init__(
        self,
        settings: Mapping[str, Any],
        http: HttpClient,
        *,
        limiter: Budget | None = None,
        memory: Memory | None = None,
    ) -> None:
        block = settings.get("pipedrive") or {}
        self.token = str(block.get("api_token") or "")
        self.domain = str(block.get("company_domain") or "").strip().removesuffix(".pipedrive.com")
        base = str(block.get("base_url") or "")
        if not self.token:
            raise PermanentError(f"Pipedrive has no API token: paste it in {SETTINGS_PATH}")
        if not base and not self.domain:
            raise PermanentError(
                f"Pipedrive has no company domain (the part before .pipedrive.com): {SETTINGS_PATH}"
            )
        self.base = (base or f"https://{self.domain}.pipedrive.com").rstrip("/")
        self.pipeline = str(settings.get("pipeline") or "")
        self.lag = float(block.get("search_lag_seconds") or DEFAULT_SEARCH_LAG)
        self.http = http
        self.limiter: Budget = limiter if limiter is not None else LocalLimiter()
        if memory is None:
            memory = (
                RedisMemory(self.limiter.conn) if isinstance(self.limiter, RateLimiter) else LocalMemory()
            )
        self.memory = memory
        self.memory_account = digest(f"{self.base}|{self.token}")[:16]
        self._claiming = ""  # the shared record of the create on its way (stamped as it is sent)
        self._sent_at = 0.0

    @staticmethod
    def account(settings: Mapping[str, Any]) -> str:
        """The company (its domain; a sandbox address with the token when there is none)."""
        block = settings.get("pipedrive") or {}
        domain = str(block.get("company_domain") or "").strip().removesuffix(".pipedrive.com")
        if domain:
            return fingerprint("domain", domain)
        return fingerprint("base", str(block.get("base_url") or ""), str(block.get("api_token") or ""))

    # -- the interface ------------------------------------------------------------------------------
    def sync_order(self, contact: Contact, deal: Deal, known: Known) -> Synced:
        stage_id = self._stage_id(deal)
        org_id = self._organization(contact.company, contact.email) if contact.company else None
        person = self._person(contact, known, org_id)
        person_id = person.id
        record = self._deal(deal, known, person_id, org_id, stage_id)
        deal_id = int(record["id"])
        if deal.line_items:
            self._products(deal_id, deal)
        self._deal_note(deal_id, deal)
        url = f"https://{self.domain}.pipedrive.com/deal/{deal_id}" if self.domain else ""
        stage = str(record.get("stage_id") or "")
        return Synced(str(person_id), str(deal_id), url, stage, created=person.created)

    def sync_contact(self, contact: Contact, known: Known) -> str:
        org_id = self._organization(contact.company, contact.email) if contact.company else None
        return str(self._person(contact, known, org_id, consent_changed=True).id)

    def erase(self, email: str) -> str:
        key = self._key("person", email)
        hits = self._search("persons", email, "email")
        ids = {
            int(i["item"]["id"])
            for i in hits
            if email.lower() in [str(e).lower() for e in i["item"].get("emails") or ()]
        }
        remembered = self.memory.get(key)
        if remembered and remembered.isdigit():
            ids.add(int(remembered))  # created moments ago, not in the index yet
        orgs: set[int] = set()
        deleted = []
        for person_id in sorted(ids):
            record = self._call("GET", f"/persons/{person_id}", what="the person", missing_ok=True)
            if record is None:
                continue
            if record.get("org_id"):
                orgs.add(int(record["org_id"]))
            if self._call("DELETE", f"/persons/{person_id}", what="the person", missing_ok=True) is not None:
                deleted.append(person_id)
        self.memory.forget(key)
        if not deleted:
            return "Pipedrive has no person with this e-mail address: nothing to delete."
        which = ", ".join(str(i) for i in deleted)
        gone = [org for org in sorted(orgs) if self._erase_organization(org, email)]
        also = (
            f" and the organization {', '.join(map(str, gone))} BPM Bridge made for them alone"
            if gone
            else ""
        )
        return (
            f"Pipedrive deleted person {which}{also} (their deals stay, without the person); Pipedrive keeps "
            "deleted records in its trash for 30 days before removing them for good. Pipedrive keeps no "
            "do-not-import list: do not import this e-mail address into Pipedrive again."
        )

    def _erase_organization(self, org_id: int, email: str) -> bool:
        """Delete an organization BPM Bridge created for this buyer (its marker names their address's
        digest) once no other person belongs to it; a company other people work for stays."""
        marker = self._key("org-made", str(org_id))
        if self.memory.get(marker) != digest(email):
            return False
        params = {"org_id": str(org_id), "limit": "2"}
        others = self._envelope("GET", "/persons", None, "the organization's people", params).get("data")
        if others:
            return False
        self._call("DELETE", f"/organizations/{org_id}", what="the organization", missing_ok=True)
        self.memory.forget(marker)
        return True

    def pipelines(self) -> tuple[Pipeline, ...]:
        try:
            pipelines = self._all("/pipelines", "the pipelines")
            stages = self._all("/stages", "the pipeline stages")
        except _Missing:  # pipelines and stages joined v2 only in 2025: the v1 routes answer everywhere
            pipelines = self._all("/pipelines", "the pipelines", version="v1")
            stages = self._all("/stages", "the pipeline stages", version="v1")
        return tuple(
            Pipeline(
                str(p["id"]),
                str(p.get("name") or p["id"]),
                tuple(
                    Stage(str(s["id"]), str(s.get("name") or s["id"]))
                    for s in sorted(stages, key=lambda s: s.get("order_nr") or 0)
                    if s.get("pipeline_id") == p["id"] and not s.get("is_deleted")
                ),
            )
            for p in sorted(pipelines, key=lambda p: p.get("order_nr") or 0)
            if not p.get("is_deleted")
        )

    # -- persons and organizations ------------------------------------------------------------------
    def _person(
        self, contact: Contact, known: Known, org_id: int | None, consent_changed: bool = False
    ) -> Found:
        body: dict[str, Any] = {"name": f"{contact.first_name} {contact.last_name}".strip() or contact.email}
        if org_id:
            body["org_id"] = org_id
        if contact.marketing:
            body["marketing_status"] = "subscribed"
        elif consent_changed:
            body["marketing_status"] = "unsubscribed"

        def has_email(record: Mapping[str, Any]) -> bool:
            emails = record.get("emails") or ()
            values = {str(e.get("value") if isinstance(e, Mapping) else e).lower() for e in emails}
            return contact.email.lower() in values

        def create() -> dict[str, Any]:
            email = [{"value": contact.email, "primary": True, "label": "work"}]
            return self._write("POST", "/persons", {**body, "emails": email}, "the new person")

        found = self._resolve(
            "persons",
            self._key("person", contact.email),
            [known.contact_id],
            has_email,
            lambda: [i for i in self._search("persons", contact.email, "email") if has_email(i["item"])],
            create,
        )
        if not found.created:
            self._write("PATCH", f"/persons/{found.id}", body, "the person")
        return found

    def _write(self, method: str, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        """A person write; an account without Pipedrive Campaigns may refuse ``marketing_status``
        (UNCONFIRMED), and then the person is written without it."""
        try:
            return dict(self._call(method, path, body, what=what))
        except PermanentError as exc:
            if "marketing_status" not in exc.reason or "marketing_status" not in body:
                raise
            return dict(
                self._call(
                    method, path, {k: v for k, v in body.items() if k != "marketing_status"}, what=what
                )
            )

    def _organization(self, company: str, email: str) -> int:
        def named(record: Mapping[str, Any]) -> bool:
            return str(record.get("name") or "").lower() == company.lower()

        found = self._resolve(
            "organizations",
            self._key("org", company),
            [],
            named,
            lambda: [i for i in self._search("organizations", company, "name") if named(i["item"])],
            lambda: dict(
                self._call("POST", "/organizations", {"name": company}, what="the new organization")
            ),
        )
        if found.created:
            # Made for this buyer: their erasure may delete it too, while nobody else belongs to it.
            self.memory.put(self._key("org-made", str(found.id)), digest(email), MARKER_TTL)
        return found.id

    # -- deals -------------------------------------------------------------------------------------
    def _stage_id(self, deal: Deal) -> int | None:
        if not deal.stage:
            return None
        if not deal.stage.isdigit():
            raise PermanentError(
                f'the stage "{deal.stage}" mapped to order status "{deal.status}" is not a Pipedrive stage: '
                f'load the stages ("Test connection") in {SETTINGS_PATH} and map the statuses again'
            )
        return int(deal.stage)

    def _deal(
        self, deal: Deal, known: Known, person_id: int, org_id: int | None, stage_id: int | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": deal.name,
            "value": _money(deal.amount),
            "currency": deal.currency,
            "person_id": person_id,
            "status": deal_status(deal.status),
        }
        if org_id:
            body["org_id"] = org_id
        if self.pipeline.isdigit():
            body["pipeline_id"] = int(self.pipeline)
        if stage_id is not None:
            body["stage_id"] = stage_id
        if deal.close_date:
            body["expected_close_date"] = deal.close_date[:10]

        def ours(item: Mapping[str, Any]) -> bool:
            # Exact title and the same buyer: another shop on the account may have its own "Order #12".
            owner = (item.get("person") or {}).get("id")
            return item.get("title") == deal.name and owner in (person_id, None)

        found = self._resolve(
            "deals",
            self._key("deal", str(deal.order_id)),
            [known.deal_id],
            lambda record: True,  # an id stored for this very order is its deal, whatever its title now
            lambda: [i for i in self._search("deals", deal.name, "title") if ours(i["item"])],
            lambda: dict(self._call("POST", "/deals", body, what="the new deal", stage=deal)),
            mine=lambda row: row.get("title") == deal.name and row.get("person_id") in (person_id, None),
        )
        if found.created:
            return found.record
        return dict(self._call("PATCH", f"/deals/{found.id}", body, what="the deal", stage=deal))

    def _deal_note(self, deal_id: int, deal: Deal) -> None:
        """The invoice and the return on the deal: one pinned note of ours, updated in place (notes are
        v1; custom fields would need per-account field keys). Nothing is written until there is one."""
        content = note_content(deal)
        if not content:
            return
        params = {"deal_id": str(deal_id), "limit": "100"}
        listed = self._envelope("GET", "/notes", None, "the deal's notes", params, version="v1")
        ours = [n for n in listed.get("data") or () if str(n.get("content") or "").startswith(NOTE_MARK)]
        if not ours:
            body = {"content": content, "deal_id": deal_id, "pinned_to_deal_flag": True}
            self._envelope("POST", "/notes", body, "the deal's note", version="v1")
        elif ours[0].get("content") != content:
            path = f"/notes/{ours[0]['id']}"
            self._envelope("PUT", path, {"content": content}, "the deal's note", version="v1")

    def _products(self, deal_id: int, deal: Deal) -> None:
        wanted = [(self._product(item, deal.currency), item) for item in deal.line_items]
        path = f"/deals/{deal_id}/products"
        rows = self._all(path, "the deal's products")
        for product_id, item in wanted:
            row = next((r for r in rows if r.get("product_id") == product_id), None)
            price = _money(item.unit_price)
            change = {"product_id": product_id, "item_price": price, "quantity": item.quantity}
            if row is None:
                self._call("POST", path, change, what="a product of the deal")
                continue
            rows.remove(row)
            if (float(row.get("item_price") or 0), row.get("quantity")) != (price, item.quantity):
                self._call("PATCH", f"{path}/{row['id']}", change, what="a product of the deal")
        for extra in rows:  # a line no longer on the order, or a second copy from a lost answer
            self._call("DELETE", f"{path}/{extra['id']}", what="a product of the deal", missing_ok=True)

    def _product(self, item: LineItem, currency: str) -> int:
        field, term = ("code", item.sku) if item.sku else ("name", item.name)
        body: dict[str, Any] = {
            "name": item.name,
            "prices": [{"price": _money(item.unit_price), "currency": currency}],
        }
        if item.sku:
            body["code"] = item.sku

        def same(record: Mapping[str, Any]) -> bool:
            return str(record.get(field) or "").lower() == term.lower()

        found = self._resolve(
            "products",
            self._key("product", f"{field}:{term}"),
            [],
            same,
            lambda: [i for i in self._search("products", term, field) if same(i["item"])],
            lambda: dict(self._call("POST", "/products", body, what="the new product")),
        )
        return found.id

    # -- find or create, guarded ---------------------------------------------------------------------
    def _resolve(
        self,
        kind: str,
        key: str,
        ids: list[str],
        usable: Callable[[Mapping[str, Any]], bool],
        search: Callable[[], list[dict[str, Any]]],
        create: Callable[[], dict[str, Any]],
        mine: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> Found:
        """The record: a stored or remembered id that still exists (and is ``usable``), else the oldest
        exact search hit, else a new one — created by one worker at a time (module docstring). ``mine``
        picks ours out of a listing's rows (default: ``usable``)."""
        what = kind[:-1]
        remembered = self.memory.get(key) or ""
        for candidate in dict.fromkeys((*ids, remembered)):
            if candidate.isdigit():
                record = self._call("GET", f"/{kind}/{candidate}", what=f"the {what}", missing_ok=True)
                if record is not None and not record.get("is_deleted") and usable(record):
                    return Found(int(candidate), False, dict(record))
        hits = sorted(int(hit["item"]["id"]) for hit in search())
        if hits:
            self.memory.put(key, str(hits[0]), RECORD_TTL)
            return Found(hits[0], False, {})
        if not self.memory.claim(key, stamp(PENDING, self.memory.now()), CLAIM_TTL):
            held = self.memory.get(key) or ""
            if held.isdigit():  # another worker finished its create meanwhile
                return Found(int(held), False, {})
            state, started = parse(held)
            waited = self.memory.now() - started
            if state == PENDING and waited < self.lag:
                raise TransientError(
                    f"Pipedrive may still be adding this {what} (another sync is creating it); BPM Bridge "
                    "looks again in a moment",
                    round(min(max(1.0, self.lag - waited), 30.0)),
                )
            # A create whose answer was lost, or a creator gone quiet: the record may exist though the
            # search cannot show it yet. The listing reads the records themselves, not the index.
            listed = self._listed(kind, mine or usable, started or self.memory.now() - self.lag)
            if listed is not None:
                self.memory.put(key, str(listed), RECORD_TTL)
                return Found(listed, False, {})
            self.memory.put(key, stamp(PENDING, self.memory.now()), CLAIM_TTL)  # take the claim over
        self._claiming = key
        try:
            record = create()
        except PermanentError:
            self.memory.forget(key)  # refused: nothing was created, the next attempt may create
            raise
        except TransientError:
            # Sent, and its answer lost (or refused for now): the retry looks in the listing first.
            self.memory.put(key, stamp(ANSWER_LOST, self._sent_at), CLAIM_TTL)
            raise
        finally:
            self._claiming = ""
        self.memory.put(key, str(record["id"]), RECORD_TTL)
        return Found(int(record["id"]), True, record)

    def _listed(self, kind: str, usable: Callable[[Mapping[str, Any]], bool], since: float) -> int | None:
        """The oldest record ``usable`` says is ours among those added since ``since`` (Redis time, less a
        margin for the difference between our clock and Pipedrive's), newest first, a few pages deep."""
        after = datetime.fromtimestamp(since - CLOCK_MARGIN, UTC)
        params = {"sort_by": "add_time", "sort_direction": "desc", "limit": str(LIST_LIMIT)}
        if kind != "products":  # v2 lists products without updated_since
            params["updated_since"] = after.strftime("%Y-%m-%dT%H:%M:%SZ")
        found: list[int] = []
        for _ in range(LIST_PAGES):
            body = self._envelope("GET", f"/{kind}", None, f"the recent {kind}", params)
            rows = [r for r in body.get("data") or () if isinstance(r, Mapping)]
            found += [int(r["id"]) for r in rows if not r.get("is_deleted") and usable(r)]
            cursor = (body.get("additional_data") or {}).get("next_cursor")
            if not cursor or not rows or _added(rows[-1]) < after:
                break
            params = {**params, "cursor": str(cursor)}
        return min(found) if found else None

    def _key(self, kind: str, value: str) -> str:
        return f"{PREFIX}{self.memory_account}:{kind}:{digest(value)}"


class Found:
    __slots__ = ("created", "id", "record")

    def __init__(self, record_id: int, created: bool, record: dict[str, Any]) -> None:
        self.id = record_id
        self.created = created
        self.record = record


def note_content(deal: Deal) -> str:
    """The deal note's HTML: the invoice number, its PDF link and the return's state ("" without them)."""
    rows = []
    if deal.invoice_number:
        rows.append(f"Invoice: {html.escape(deal.invoice_number)}")
    if deal.invoice_url:
        url = html.escape(deal.invoice_url, quote=True)
        rows.append(f'Invoice PDF: <a href="{url}">{url}</a>')
    if deal.return_state:
        rows.append(f"Return: {html.escape(deal.return_state)}")
    return f"{NOTE_MARK}<br>" + "<br>".join(rows) if rows else ""


def _added(row: Mapping[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(str(row.get("add_time") or "").replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
