"""What the store refuses, each with a message meant for the person who asked."""

from __future__ import annotations


class StoreError(Exception):
    """The store cannot do what was asked; the message says why."""


class NotFound(StoreError):
    """The thing named does not exist (the API answers 404)."""


class InvalidChange(StoreError):
    """The change does not fit the current state, e.g. acknowledging a resolved alert (409)."""


class Invalid(StoreError):
    """The value given is not acceptable, e.g. an unknown role (the API answers 422)."""
