"""Screens of the mesoslab app."""
