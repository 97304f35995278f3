"""The findings of `mesoslab doctor` for people (rich): one line per finding, its fixes
beneath, then a verdict."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mesoslab.lab.doctor import FAIL, OK, WARN, Finding

SYMBOLS = {OK: ("✔", "green"), WARN: ("!", "yellow"), FAIL: ("✘", "red")}


def render(findings: list[Finding], console: Console) -> None:
    """One line per finding (symbol, title, detail) and its fix lines, wrapped in place."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for finding in findings:
        symbol, colour = SYMBOLS[finding.status]
        text = f"[bold]{escape(finding.title)}[/]"
        if finding.detail:
            text += f": {escape(finding.detail)}"
        for fix in finding.fix.splitlines():
            text += f"\n[{colour}]→[/] {escape(fix)}"
        grid.add_row(f"[{colour}]{symbol}[/]", text)
    console.print(grid, highlight=False)
    fails = sum(f.status == FAIL for f in findings)
    warns = sum(f.status == WARN for f in findings)
    if fails:
        console.print(f"\n[red]{fails} problem(s)[/], {warns} warning(s): fix the ✘ lines first.")
    elif warns:
        console.print(f"\n[yellow]{warns} warning(s)[/], nothing blocking.")
    else:
        console.print("\n[green]All good.[/]")
