"""Factories, oracles and harnesses shared by the tests and benchmarks."""
