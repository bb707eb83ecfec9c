"""Capture sources: everything that yields batches of frames with capture time and link type."""
