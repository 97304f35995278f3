"""What the twin's read-only web consoles share: the page with its emulation banner, tables,
links and times, as small server-rendered HTML (no scripts, no assets: the lab is offline).

Every value is escaped here: a cell, a link's text or address is plain text unless it is
:class:`Html` made by these helpers, so a hostile app id or hostname is shown, never run.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from html import escape

from mesoslab_twin import SERVER_NAME
from mesoslab_twin.common.httpd import Reply, text_reply

CONTENT_TYPE = "text/html; charset=utf-8"

STYLE = """
body{font-family:sans-serif;margin:0;color:#222;font-size:14px}
.banner{background:#b45309;color:#fff;padding:.5em 1em;font-weight:bold}
nav{background:#333;padding:.4em 1em}nav a{color:#eee;margin-right:1.2em}
main{padding:0 1em 1em}h2{margin:1.2em 0 .4em;font-size:1.15em}
table{border-collapse:collapse;margin-bottom:.6em}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#eee}td.empty{color:#777;font-style:italic}
.note{background:#fef3c7;border:1px solid #d97706;padding:.5em 1em}
.muted{color:#666}code{font-size:.95em}
"""


class Html(str):
    """Markup already escaped by these helpers (anything else is escaped when used)."""


def text(value: object) -> Html:
    return Html(escape("" if value is None else str(value)))


def markup(value: object) -> Html:
    return value if isinstance(value, Html) else text(value)


def join(parts: Iterable[object], sep: str = " ") -> Html:
    return Html(escape(sep).join(markup(p) for p in parts))


def link(href: str, label: object, *, title: str = "") -> Html:
    extra = f' title="{escape(title)}"' if title else ""
    return Html(f'<a href="{escape(href)}"{extra}>{markup(label)}</a>')


def code(value: object) -> Html:
    return Html(f"<code>{text(value)}</code>")


def when(seconds: float | None) -> Html:
    """A Unix time as ``2026-12-02 07:03:10 UTC`` (nothing for none)."""
    if not seconds:
        return Html("")
    return text(time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds)))


def banner_text(product: str, version: str, real: str) -> str:
    return f"mesoslab rehearsal lab \u2014 an emulation of {product} {version}, not {real}"


def table(
    headings: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    empty: str = "None.",
    css_id: str = "",
) -> Html:
    head = "".join(f"<th>{text(h)}</th>" for h in headings)
    body = "".join(
        "<tr>" + "".join(f"<td>{markup(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    if not body:
        body = f'<tr><td class="empty" colspan="{len(headings)}">{text(empty)}</td></tr>'
    ident = f' id="{escape(css_id)}"' if css_id else ""
    return Html(f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def section(anchor: str, title: str, *content: object) -> Html:
    """A titled part of the page; ``anchor`` is its id (``/agents`` answers ``#/agents``)."""
    inner = "".join(markup(c) for c in content)
    return Html(f'<section id="{escape(anchor)}"><h2>{text(title)}</h2>{inner}</section>')


def page(
    title: str, banner: str, nav: Sequence[tuple[str, str]], *content: object, note: object = ""
) -> str:
    links = "".join(link(href, label) for href, label in nav)
    inner = "".join(markup(c) for c in content)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="generator" content="{escape(SERVER_NAME)}">'
        f"<title>{text(title)}</title><style>{STYLE}</style></head><body>"
        f'<div class="banner" id="emulation-banner" role="banner">{text(banner)}</div>'
        f"<nav>{links}</nav><main>{markup(note)}{inner}</main></body></html>"
    )


def html_reply(body: str) -> Reply:
    return text_reply(body, content_type=CONTENT_TYPE)
