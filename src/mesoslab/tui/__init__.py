"""The Textual app of mesoslab (``mesoslab`` with no arguments).

Only this package (and cli.py) may import textual. Entry point: :func:`mesoslab.tui.app.run_app`.
"""
