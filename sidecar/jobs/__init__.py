"""Jobs: one module per action, run by the framework in :mod:`sidecar.engine.runner`."""
