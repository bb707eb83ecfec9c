"""Types, errors and plugin contracts shared by every stage."""
