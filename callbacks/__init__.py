"""Dash callbacks, one module per component region. Importing this package registers
them all (``chat_app`` imports it once)."""

from . import budget, composer, header, messages, settings, sidebar  # noqa: F401  (registers callbacks)
