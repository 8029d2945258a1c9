"""A HubSpot deal's line items, kept equal to the order's lines.

Each line is upserted by the unique line-item property ``woo_line_key`` ("<order id>-<position>"), so a
changed order updates its lines in place. Every sync links every line to the deal again (v4 batch
create is idempotent): a link lost with an answer, or removed in HubSpot, comes back, for one request.
An order that has fewer lines than before (an edited pending order) leaves keys beyond its count: the
sync reads those keys (a few at a time, without the search index) and archives the lines it finds — only
for a deal HubSpot already had, since a new deal has no old lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sidecar.errors import PermanentError
from sidecar.providers.crm.base import Deal

if TYPE_CHECKING:
    from sidecar.providers.crm.hubspot import HubSpotProvider

BATCH_MAX = 100
LINE_ITEM_TO_DEAL = 20
STALE_WINDOW = 5  # keys past the current line count read per round
STALE_ROUNDS = 20  # up to 100 removed lines per sync: far more than any order loses at once


def line_key(order_id: int, position: int) -> str:
    return f"{order_id}-{position}"


def line_inputs(deal: Deal) -> list[dict[str, Any]]:
    return [
        {
            "idProperty": "woo_line_key",
            "id": line_key(deal.order_id, position),
            "properties": {
                "woo_line_key": line_key(deal.order_id, position),
                "name": item.name,
                "quantity": str(item.quantity),
                "price": str(item.unit_price),
                **({"hs_sku": item.sku} if item.sku else {}),
            },
        }
        for position, item in enumerate(deal.line_items, start=1)
    ]


def chunks(items: Sequence[Any], size: int = BATCH_MAX) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def sync_lines(api: HubSpotProvider, deals: Sequence[tuple[str, Deal, bool]]) -> None:
    """Upsert, link and prune the lines of ``(deal id, deal, HubSpot had the deal before)``."""
    keyed = [(deal_id, entry) for deal_id, deal, _ in deals for entry in line_inputs(deal)]
    if not keyed:
        return
    ids: dict[str, str] = {}
    for chunk in chunks(keyed):
        inputs = [(e["id"], e["properties"]) for _, e in chunk]
        records = api.upsert_records("line_items", "woo_line_key", inputs, "line items")
        ids.update({key: record[0] for key, record in records.items()})
    missing = sum(1 for _, e in keyed if e["id"] not in ids)
    links = [(ids[e["id"]], deal_id) for deal_id, e in keyed if e["id"] in ids]
    api.associate("line_items", "deals", links, LINE_ITEM_TO_DEAL)
    archive_beyond(api, [deal for _, deal, existed in deals if existed])
    if missing:
        raise PermanentError(f"HubSpot did not take {missing} line item(s) of the deal")


def archive_beyond(api: HubSpotProvider, deals: Sequence[Deal]) -> int:
    """Archive our lines whose position is past the order's line count; the number archived."""
    start = {deal.order_id: len(deal.line_items) + 1 for deal in deals}
    archived = 0
    for _ in range(STALE_ROUNDS):
        if not start:
            break
        keys = [line_key(o, n) for o, first in start.items() for n in range(first, first + STALE_WINDOW)]
        found: list[tuple[str, str]] = []
        for chunk in chunks(keys):
            body = {
                "idProperty": "woo_line_key",
                "properties": ["woo_line_key"],
                "inputs": [{"id": key} for key in chunk],
            }
            answer = api.call(
                "POST", "/crm/v3/objects/line_items/batch/read", body, what="the lines no longer on the order"
            )
            found += [
                (str(r.get("id")), str((r.get("properties") or {}).get("woo_line_key") or ""))
                for r in answer.get("results") or ()
            ]
        for chunk in chunks([record_id for record_id, _ in found]):
            api.call(
                "POST",
                "/crm/v3/objects/line_items/batch/archive",
                {"inputs": [{"id": record_id} for record_id in chunk]},
                what="the lines no longer on the order",
            )
        archived += len(found)
        hits: dict[int, int] = {}
        for _, key in found:
            order = int(key.partition("-")[0] or 0)
            hits[order] = hits.get(order, 0) + 1
        # A full window may have more behind it; the others are done.
        start = {o: first + STALE_WINDOW for o, first in start.items() if hits.get(o, 0) == STALE_WINDOW}
    return archived
