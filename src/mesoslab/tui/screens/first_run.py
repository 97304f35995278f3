"""No lab yet: what `mesoslab init` will create, what `doctor` says about this machine, and one
key to create the lab and start `up`.

The defaults follow the doctor: VirtualBox (or libvirt) with CentOS 7 when the machine can run
VMs, else LXC with the rehearsal platform, which needs no hardware virtualization.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, VerticalScroll
from textual.message import Message
from textual.widgets import Header, Input, Label, Select, Static

from mesoslab.errors import MesoslabError
from mesoslab.lab.presets import PRESETS
from mesoslab.lab.spec import LAB_FILE, PLATFORMS, PROVIDERS
from mesoslab.tui.dialogs.confirm import ConfirmScreen, when_yes
from mesoslab.tui.screens.base import BaseScreen
from mesoslab.tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from mesoslab.lab.doctor import Finding

PRESET_LABELS = {
    "1m-2a": "1m-2a: 1 master + 2 agents (3 machines)",
    "3m-3a": "3m-3a: 3 HA masters + 3 agents (lesson 4)",
    "dcos": "dcos: bootstrap + 1 master + 3 agents (lesson 10)",
}
PROVIDER_LABELS = {
    "virtualbox": "virtualbox: VMs (needs VT-x/AMD-V)",
    "libvirt": "libvirt: KVM VMs on Linux",
    "lxc": "lxc: containers, no virtualization needed",
}
PLATFORM_LABELS = {
    "centos7": "centos7: the real Mesos packages, as in the lessons",
    "rehearsal": "rehearsal: emulated Mesos on Debian (LXC only)",
}
MARKS = {"ok": ("✔", "green"), "warn": ("!", "yellow"), "fail": ("✘", "red")}
PROVIDER_TITLES = {
    "virtualbox": "Provider VirtualBox",
    "libvirt": "Provider libvirt (KVM)",
    "lxc": "Provider LXC",
}


def choose_defaults(findings: list[Finding]) -> tuple[str, str, str]:
    """(provider, platform, why) from what the doctor found usable on this machine."""
    usable = {
        name
        for name, title in PROVIDER_TITLES.items()
        if any(f.title == title and f.status == "ok" for f in findings)
    }
    if "virtualbox" in usable:
        return "virtualbox", "centos7", "VirtualBox works here: CentOS 7 VMs, as in the lessons."
    if "libvirt" in usable:
        return "libvirt", "centos7", "KVM works here (VirtualBox does not): CentOS 7 VMs."
    return (
        "lxc",
        "rehearsal",
        "Neither VirtualBox nor KVM is usable here, so the lab runs in LXC containers with the "
        "rehearsal platform (real ZooKeeper, systemd and SSH; emulated Mesos).",
    )


@dataclass
class DoctorFound(Message, bubble=False):
    """What `mesoslab doctor` found on this machine."""

    findings: list[Finding]


class FirstRunScreen(BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "create(True)", "Create + up"),
        Binding("w", "create(False)", "Create only"),
        Binding("l", "lessons", "Lessons"),
        Binding("d", "doctor", "Doctor again", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="first-run")
        self._touched = False  # the learner changed provider/platform: keep their choice
        self._auto = {"provider": "virtualbox", "platform": "centos7"}  # what we set

    def compose(self) -> ComposeResult:
        folder = self.mapp.context.folder or Path.cwd()
        yield Header(show_clock=False)
        with VerticalScroll(id="first-run-body"):
            yield Static(
                "[b]Welcome to mesoslab.[/b] There is no lab here yet. Creating one writes two "
                f"files into the folder below: [b]{LAB_FILE}[/b] (the lab's nodes, provider, "
                "platform and package source, every key commented: yours to edit) and the "
                "generic [b]Vagrantfile[/b]. Then `up` builds the machines and provisions them.",
                id="welcome",
            )
            with Grid(id="choices"):
                yield Label("Folder")
                yield Input(str(folder), id="folder")
                yield Label("Preset")
                yield Select(
                    [(label, key) for key, label in PRESET_LABELS.items() if key in PRESETS],
                    value="1m-2a",
                    allow_blank=False,
                    id="preset",
                )
                yield Label("Provider")
                yield Select(
                    [(PROVIDER_LABELS[p], p) for p in PROVIDERS],
                    value="virtualbox",
                    allow_blank=False,
                    id="provider",
                )
                yield Label("Platform")
                yield Select(
                    [(PLATFORM_LABELS[p], p) for p in PLATFORMS],
                    value="centos7",
                    allow_blank=False,
                    id="platform",
                )
            yield Static("Checking this machine (mesoslab doctor)…", id="why")
            yield Static("", id="doctor")
            yield Static(
                "[b]c[/b] creates the lab and starts `up` · [b]w[/b] only writes the files · "
                "[b]l[/b] reads the lessons first",
                id="first-run-keys",
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "no lab yet"
        self.query_one("#preset", Select).focus()
        self.action_doctor()

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [
            (
                "Create the lab and start up",
                "Write lab.toml and the Vagrantfile, then up",
                "create(True)",
            ),
            ("Create the lab files only", "Write lab.toml and the Vagrantfile", "create(False)"),
            ("Run doctor again", "Check what this machine can run", "doctor"),
        ]

    # ------------------------------------------------------------------ doctor

    def action_doctor(self) -> None:
        self.query_one("#why", Static).update("Checking this machine (mesoslab doctor)…")
        self._run_doctor()

    @work(thread=True, exclusive=True, group="doctor", exit_on_error=False)
    def _run_doctor(self) -> None:
        from mesoslab.lab.doctor import run_doctor

        self.post_message(DoctorFound(run_doctor(None, self.mapp.doctor_host)))

    def on_doctor_found(self, message: DoctorFound) -> None:
        findings = message.findings
        provider, platform, why = choose_defaults(findings)
        if not self._touched:
            self._set_choice(provider, platform)
            self.query_one("#why", Static).update(f"Suggested: {why}")
        else:
            self.query_one("#why", Static).update(f"The doctor suggests {provider} + {platform}.")
        text = Text()
        text.append("What `mesoslab doctor` says about this machine:\n", style="bold")
        for finding in findings:
            if finding.title == "lab.toml":
                continue  # "no lab here yet" is why this screen is showing
            mark, style = MARKS.get(finding.status, ("?", "yellow"))
            text.append(f"{mark} ", style=style)
            text.append(finding.title, style="bold")
            if finding.detail:
                text.append(f": {finding.detail}")
            text.append("\n")
            for line in finding.fix.splitlines():
                text.append(f"    → {line}\n", style="dim")
        self.query_one("#doctor", Static).update(text)

    # ------------------------------------------------------------------ choices

    def _set_choice(self, provider: str, platform: str) -> None:
        self._auto = {"provider": provider, "platform": platform}
        self.query_one("#provider", Select).value = provider
        self.query_one("#platform", Select).value = platform

    @on(Select.Changed, "#provider")
    def _provider_changed(self, event: Select.Changed) -> None:
        if event.value == self._auto["provider"]:
            return
        self._touched = True
        platform = self.query_one("#platform", Select)
        if event.value != "lxc" and platform.value == "rehearsal":
            platform.value = "centos7"

    @on(Select.Changed, "#platform")
    def _platform_changed(self, event: Select.Changed) -> None:
        if event.value == self._auto["platform"]:
            return
        self._touched = True
        if event.value == "rehearsal":
            self.query_one("#provider", Select).value = "lxc"

    # ------------------------------------------------------------------ create

    def action_create(self, start: bool) -> None:
        from mesoslab.lab.init import write_lab

        folder = Path(self.query_one("#folder", Input).value.strip() or ".").expanduser()
        if (folder / LAB_FILE).is_file():
            self.app.push_screen(
                ConfirmScreen(
                    f"{folder / LAB_FILE} already exists",
                    "Open that lab instead? (mesoslab never overwrites a lab.toml from here.)",
                    yes="Open it",
                ),
                when_yes(lambda: self._open_existing(folder, start)),
            )
            return
        try:
            result = write_lab(
                folder,
                preset=str(self.query_one("#preset", Select).value),
                provider=str(self.query_one("#provider", Select).value),
                platform=str(self.query_one("#platform", Select).value),
            )
        except MesoslabError as exc:
            self.mapp.show_error(exc)
            return
        except OSError as exc:
            self.notify(f"cannot write into {folder}: {exc}", title="init", severity="error")
            return
        from mesoslab.tui.context import for_spec

        self.mapp.context = for_spec(result.spec)
        self.notify(
            f"wrote {result.lab_file}\n{result.vagrantfile}",
            title="Lab created",
            severity="information" if result.vagrantfile_ok else "warning",
        )
        self.mapp.show_lab(start_up=start)

    def _open_existing(self, folder: Path, start: bool) -> None:
        from mesoslab.lab.spec import load_lab
        from mesoslab.tui.context import for_spec

        try:
            self.mapp.context = for_spec(load_lab(folder))
        except MesoslabError as exc:
            self.mapp.show_error(exc)
            return
        self.mapp.show_lab(start_up=start)

    def action_lessons(self) -> None:
        self.mapp.open_lessons()
