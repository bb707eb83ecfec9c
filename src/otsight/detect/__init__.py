"""Detection: rules, learned baseline and anomaly models."""
