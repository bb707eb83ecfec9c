"""The triage actions alerts and incidents share, as route paths and their docs."""

from __future__ import annotations

ACTIONS = {
    "acknowledge": ("acknowledge", "Someone is looking at it (new -> acknowledged)."),
    "resolve": ("resolve", "Dealt with (new or acknowledged -> resolved)."),
    "mark-expected": ("expected", "Legitimate, expected behaviour (-> expected)."),
    "reopen": ("reopen", "Back to new (from acknowledged, resolved or expected)."),
}
