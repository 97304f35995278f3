"""The `mesoslab` command line: a thin click layer over :mod:`mesoslab.ops` and the library.

One module per command group, named for it: :mod:`.main` (the root group, its error exit
and the entry point ``main``), :mod:`.lessons`, :mod:`.verify`, :mod:`.run`, :mod:`.lab`
(init, doctor, status), :mod:`.machines`, :mod:`.checkpoint`, :mod:`.box` and :mod:`.dev`.
What they share is in :mod:`.options`; the rich renderings are the ``*_view`` modules.
"""
