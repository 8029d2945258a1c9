"""The job engine: queueing, the runner, locks, dead letters, reconciliation and the worker.

Actions (what a job does) live in :mod:`sidecar.jobs`; this package decides when and how they run.
Dependencies point one way: ``queueing`` ← ``dead_letters`` ← ``runner`` (with ``write_back``) ←
``worker`` → ``reconcile``; ``redelivery`` (the intake's Retry path) uses ``queueing`` and ``dead_letters``;
``locks`` and ``runtime_config`` depend on nothing else here.
"""
