"""Segments (人群包): rules over the event lake, compiled to Ibis, previewed and listed."""
