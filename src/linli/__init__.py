"""Linli (邻里): an open-source smart-community platform."""

__version__ = "0.1.0"
