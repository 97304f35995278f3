"""Widgets of the mesoslab app (one per module)."""
