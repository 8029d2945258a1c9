"""BPM Bridge sidecar: signed store events in, idempotent provider side effects out."""
