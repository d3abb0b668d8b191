"""Plixo: accounts-receivable collections."""

__version__ = "0.1.0"
