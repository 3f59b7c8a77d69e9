"""briefing: the daily migration press briefing, built as software."""

__version__ = "0.1.0"
