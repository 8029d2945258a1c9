"""Invoicing tests (issue #4)."""
