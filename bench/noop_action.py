"""The baseline action of bench_pipeline.py: does nothing and reports ``skipped``.

Registered with ``BPM_EXTRA_ACTIONS=invoice.issue=noop_action:skip`` so it replaces the real action under
the same name: routing, queueing, the per-(order, "invoice") lock, the configuration read and the outcome
report stay exactly as for an invoice, and only the invoicing work itself is gone.
"""

from __future__ import annotations

from sidecar.jobs.base import JobContext, Outcome


def skip(ctx: JobContext) -> Outcome:
    # note=False: the real action's note is part of the invoicing work being measured, not the framework.
    return Outcome("skipped", "bench: no-op baseline", note=False)
