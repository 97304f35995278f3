"""Let go of what Textual keeps of a closed screen, so the screen is freed when it closes.

Textual (8.x) keeps two things after a screen is gone:

- A widget that watches a reactive of a longer-lived object (every Header watches the app's
  ``title`` and ``sub_title``, a TextArea the app's ``theme``) stays in that object's list of
  watchers until the reactive next changes; only then are closed watchers dropped. Our app
  never changes its title, so each closed screen, with every widget it had, stayed reachable
  for the life of the app: about 50 000 objects per lesson opened, walked through by every
  full pass of the garbage collector from then on.
- ``StylesCache.get_inner_outer`` is an ``lru_cache`` on a method, so its keys keep up to
  1024 widgets' caches of rendered lines alive after the widgets are gone.

``release_closed`` drops both. And a closed screen's widgets still hold their rendered lines
(each widget's ``StylesCache``: a Strip per line, each Strip with seven caches of its cropped
and restyled copies): a third of a closed lesson notebook's objects. They take part in no
reference cycle, but the widgets holding them do, so they waited for the collector's next full
pass, which walked and freed them while the learner was on the lessons list (28-30 ms of a
55-87 ms pass, measured with the shipped lesson 1). ``drop_rendered_lines`` lets go of them as
the screen closes, where reference counting frees them at once (4-5 ms).

Textual keeps both in private attributes; if those change, this does nothing
(tests/test_tui_release.py then fails, rather than the app).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from textual.app import App
from textual.dom import DOMNode

_WATCHERS = "__watchers"  # where textual.reactive keeps an object's watchers
_LINES = "_styles_cache"  # where a widget keeps its rendered lines (textual._styles_cache)


def release_closed(app: App[Any]) -> int:
    """Drop watchers that belong to widgets no longer on any screen; return how many."""
    dropped = 0
    owners: list[object] = [app]
    for screen in app.screen_stack:
        owners.extend(screen.walk_children(with_self=True))
    for owner in owners:
        watchers = getattr(owner, _WATCHERS, None)
        if not isinstance(watchers, dict):
            continue
        for callbacks in watchers.values():
            if not isinstance(callbacks, list):
                continue
            kept = [entry for entry in callbacks if not _closed(entry)]
            dropped += len(callbacks) - len(kept)
            callbacks[:] = kept
    with contextlib.suppress(ImportError, AttributeError):
        from textual._styles_cache import StylesCache

        StylesCache.get_inner_outer.cache_clear()
    return dropped


def _closed(entry: object) -> bool:
    if not isinstance(entry, tuple) or not entry:
        return False
    node = entry[0]
    return isinstance(node, DOMNode) and not node.is_attached


def drop_rendered_lines(widgets: Iterable[object]) -> None:
    """Let go of the rendered lines of widgets that are closing."""
    for widget in widgets:
        clear = getattr(getattr(widget, _LINES, None), "clear", None)
        if callable(clear):
            clear()
