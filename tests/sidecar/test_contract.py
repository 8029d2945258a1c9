"""The sidecar reads the one contract file, wp-plugin/bpm-bridge/contract.json (sidecar/, docs/ link it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sidecar import contract, http

ROOT = Path(__file__).resolve().parents[2]


def test_the_sidecar_reads_the_one_contract_file() -> None:
    link = ROOT / "sidecar" / "contract.json"
    plugin_file = ROOT / "wp-plugin" / "bpm-bridge" / "contract.json"
    assert not plugin_file.is_symlink()  # a copied plugin folder must be complete
    assert link.is_symlink() and link.resolve() == plugin_file.resolve()
    assert (ROOT / "docs" / "contract.json").resolve() == plugin_file.resolve()
    document = json.loads((ROOT / "docs" / "contract.json").read_text(encoding="utf-8"))
    assert contract.revision() == document["revision"] == 2
    assert contract.event_types() == tuple(document["event_types"])
    assert contract.order_meta_keys() == tuple(document["order_meta_keys"])
    assert contract.limit("max_note_chars") == document["limits"]["max_note_chars"]
    with pytest.raises(TypeError):
        contract.load()["revision"] = 3  # type: ignore[index]


def test_conditions_come_from_the_contract() -> None:
    assert contract.conditions("order.status_changed") == {"invoice.issue": {"to": ("completed",)}}
    assert contract.conditions("order.paid") == {}
    assert contract.routed_actions("nope") == ()


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (200, False),
        (301, True),
        (302, True),
        (308, True),
        (400, False),
        (401, False),
        (404, False),
        (408, True),
        (409, False),
        (422, False),
        (425, True),
        (429, True),
        (500, True),
        (503, True),
        (599, True),
    ],
)
def test_transient_statuses_follow_the_contract_rule(status: int, transient: bool) -> None:
    assert http.is_transient_status(status) is transient
