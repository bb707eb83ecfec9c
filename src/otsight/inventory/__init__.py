"""Asset inventory: devices, their identities and the evidence behind them."""
