"""Shared layer of Interview Tracker: settings, database port, tokens, errors, web glue, logging."""

__version__ = "0.1.0"
