"""Profinet DCP: discovery and configuration (naming, addressing) of Profinet devices."""
