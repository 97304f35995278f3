"""The `mesoslab` command line: a thin click layer over :mod:`mesoslab.ops` and the library.

One module per command group; :mod:`mesoslab.cli.main` holds the top-level group and the
entry point ``main``.
"""
