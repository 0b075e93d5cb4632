"""A podcast community bot that answers questions by quoting the episodes."""

__version__ = "0.1.0"
