"""The footer of every screen: Textual's, rebuilt only when the keys it shows change.

Textual's Footer makes all its key widgets anew whenever the bindings may have changed, which
is on every focus move. Moving from one command cell to the next (`n`/`p` in a lesson) keeps
the same keys, yet the rebuild (a dozen new widgets, each styled) was the largest single cost
of changing step: under cProfile, 1.0 s of the 9.2 s that ten step changes of the shipped
lesson 1 took.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen

Shown = tuple[tuple[object, ...], ...]


def shown_keys(screen: Screen[object]) -> Shown:
    """What a footer on ``screen`` would show: each active binding, enabled or not, its
    tooltip (the hidden ones too: cheap to compare, and never wrongly equal)."""
    return tuple(
        (key, active.binding, active.enabled, active.tooltip)
        for key, active in screen.active_bindings.items()
    )


class KeyFooter(Footer):
    """A Footer that skips the rebuild when the keys it would show are the ones it shows."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: Shown | None = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        shown = shown_keys(screen)
        if shown == self._shown:
            return
        super().bindings_changed(screen)
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = shown  # the rebuild is on its way (Footer.bindings_changed)
