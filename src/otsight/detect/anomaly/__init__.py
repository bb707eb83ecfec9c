"""Streaming anomaly detection: Kitsune-style packet features and KitNET, process-value models.

Models follow a small ``learn_many`` / ``score_many`` contract (:mod:`.base`) with thresholds
kept apart; :mod:`.detector` wraps them as pipeline stages that raise alerts.
"""
