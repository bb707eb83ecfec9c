"""Shared pytest configuration for the otsight test tree (kept deliberately empty)."""
