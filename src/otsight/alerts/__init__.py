"""Alerts: severity, ATT&CK for ICS mapping, deduplication and incidents."""
