"""The write-back after a 409: written already, merged into a JSON map, or a real conflict."""

from __future__ import annotations

import json

from sidecar.engine.write_back import WRITTEN, apply_write_back, rebase
from sidecar.errors import ConflictError, EventNotFound

INTENT = "pending:fakturownia::1700000000"


def corrections(**entries: object) -> str:
    return json.dumps(entries, separators=(",", ":"), sort_keys=True) if entries else ""


def test_an_earlier_try_that_was_written_is_recognised() -> None:
    meta = {"_bpm_invoice_id": "123", "_bpm_invoice_number": "FV 1"}
    assert rebase(meta, {"_bpm_invoice_id": INTENT}, {"_bpm_invoice_id": "123"}) == WRITTEN


def test_a_scalar_changed_by_someone_else_is_a_conflict() -> None:
    meta = {"_bpm_invoice_id": "123"}
    assert rebase(meta, {"_bpm_invoice_id": INTENT}, {"_bpm_invoice_id": ""}) is None
    assert rebase(meta, {"_bpm_invoice_id": INTENT}, {"_bpm_invoice_id": "999"}) is None


def test_another_refunds_entry_is_kept_and_ours_merged() -> None:
    was = corrections(**{"7": {"pending": INTENT}})
    mine = corrections(**{"7": {"id": "c1", "number": "K 1", "url": "u"}})
    theirs = corrections(**{"7": {"pending": INTENT}, "8": {"pending": INTENT}})
    merged = rebase({"_bpm_corrections": mine}, {"_bpm_corrections": was}, {"_bpm_corrections": theirs})
    assert merged == (
        {
            "_bpm_corrections": corrections(
                **{"7": {"id": "c1", "number": "K 1", "url": "u"}, "8": {"pending": INTENT}}
            )
        },
        {"_bpm_corrections": theirs},
    )


def test_our_entry_written_before_others_wrote_theirs_is_written() -> None:
    was = corrections(**{"7": {"pending": INTENT}})
    mine = corrections(**{"7": {"id": "c1"}})
    theirs = corrections(**{"7": {"id": "c1"}, "8": {"pending": INTENT}})
    assert (
        rebase({"_bpm_corrections": mine}, {"_bpm_corrections": was}, {"_bpm_corrections": theirs}) == WRITTEN
    )


def test_our_entry_changed_by_someone_else_is_a_conflict() -> None:
    was = corrections(**{"7": {"pending": INTENT}})
    mine = corrections(**{"7": {"id": "c1"}})
    theirs = corrections(**{"7": {"id": "c2"}})
    assert rebase({"_bpm_corrections": mine}, {"_bpm_corrections": was}, {"_bpm_corrections": theirs}) is None


def test_a_released_entry_is_removed_from_the_merged_map() -> None:
    was = corrections(**{"7": {"pending": INTENT}})
    theirs = corrections(**{"7": {"pending": INTENT}, "8": {"id": "c8"}})
    merged = rebase({"_bpm_corrections": ""}, {"_bpm_corrections": was}, {"_bpm_corrections": theirs})
    assert merged == ({"_bpm_corrections": corrections(**{"8": {"id": "c8"}})}, {"_bpm_corrections": theirs})


class FakeStore:
    """Answers each apply from a script: an exception to raise, or None for success."""

    def __init__(self, *answers: Exception | None) -> None:
        self.answers = list(answers)
        self.calls: list[dict] = []

    def apply(self, order_id: int, **parts: object) -> dict:
        self.calls.append(parts)
        answer = self.answers.pop(0)
        if answer is not None:
            raise answer
        return {}


def test_a_merged_write_back_keeps_the_other_refund_and_still_sends_note_and_outcome() -> None:
    was = corrections(**{"7": {"pending": INTENT}})
    theirs = corrections(**{"7": {"pending": INTENT}, "8": {"id": "c8"}})
    store = FakeStore(ConflictError("409", {"_bpm_corrections": theirs}), None)
    write = {
        "meta": {"_bpm_corrections": corrections(**{"7": {"id": "c7"}})},
        "expect": {"_bpm_corrections": was},
    }
    apply_write_back(store, 11, write, "note", {"event_id": "e"}, lambda *a: None)  # type: ignore[arg-type]
    assert store.calls[1] == {
        "meta": {"_bpm_corrections": corrections(**{"7": {"id": "c7"}, "8": {"id": "c8"}})},
        "expect": {"_bpm_corrections": theirs},
        "note": "note",
        "outcome": {"event_id": "e"},
    }


def test_an_unknown_event_still_gets_its_meta_and_note_on_the_order() -> None:
    store = FakeStore(EventNotFound("no outbox row"), None)
    apply_write_back(store, 11, {"meta": {"_bpm_crm_id": "c"}}, "note", {"event_id": "e"}, lambda *a: None)  # type: ignore[arg-type]
    assert store.calls[1] == {"meta": {"_bpm_crm_id": "c"}, "expect": {}, "note": "note", "outcome": None}


def test_a_real_conflict_leaves_the_meta_alone_and_tells_the_rest() -> None:
    logged: list[tuple] = []
    store = FakeStore(ConflictError("409", {"_bpm_invoice_id": ""}), None)
    write = {"meta": {"_bpm_invoice_id": "123"}, "expect": {"_bpm_invoice_id": INTENT}}
    apply_write_back(store, 11, write, "note", None, lambda *a: logged.append(a))  # type: ignore[arg-type]
    assert store.calls[1] == {"meta": {}, "expect": {}, "note": "note", "outcome": None}
    assert logged and "not overwritten" in logged[0][1]


def test_a_write_found_already_done_still_records_the_outcome_alone() -> None:
    # apply writes meta, note and outcome in order: a lost answer (or a PHP process that died after the
    # meta) must not leave the outbox row waiting for an outcome for 72 hours.
    store = FakeStore(ConflictError("409", {"_bpm_invoice_id": "123"}), None)
    write = {"meta": {"_bpm_invoice_id": "123"}, "expect": {"_bpm_invoice_id": INTENT}}
    apply_write_back(store, 11, write, "note", {"event_id": "e"}, lambda *a: None)  # type: ignore[arg-type]
    assert store.calls[1] == {"meta": {}, "expect": {}, "note": None, "outcome": {"event_id": "e"}}


def test_a_write_found_already_done_without_an_outcome_sends_nothing_more() -> None:
    store = FakeStore(ConflictError("409", {"_bpm_invoice_id": "123"}))
    write = {"meta": {"_bpm_invoice_id": "123"}, "expect": {"_bpm_invoice_id": INTENT}}
    apply_write_back(store, 11, write, "note", None, lambda *a: None)  # type: ignore[arg-type]
    assert len(store.calls) == 1
