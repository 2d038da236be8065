"""Deciding claims from stored results: statistics (stats.py) and claim semantics (claims.py).
Never trains, never prints."""
