"""Biometrics: face and voice engines, templates, galleries and 1:N search, liveness."""
