"""Invoicing domain: which document an order needs (rules) and what it contains (document).

Provider-neutral: nothing here knows Fakturownia or inFakt; their clients live in
:mod:`sidecar.providers.invoicing` and the actions in :mod:`sidecar.jobs.invoice`.
"""
