"""Siyu (私域): a brand's own customers — tracked, unified, tagged and reached."""

__version__ = "0.1.0"
