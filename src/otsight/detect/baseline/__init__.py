"""The learned baseline (allow-list of normal behaviour) and its detector."""
