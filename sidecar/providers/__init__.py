"""External systems the sidecar talks to, one file per system behind a small interface per kind."""
