"""Fuzz tests: the Hypothesis profile is chosen in budget.py (SLIMMER_FUZZ=ci|long)."""

from tests.fuzz import budget  # noqa: F401  (registers and loads the profile)
