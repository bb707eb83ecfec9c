"""Assembles the stages into a running pipeline: capture -> decode -> flows -> handlers."""
