"""`mesoslab doctor`: can this machine run the lab? Say so before anything fails.

Two stages. :func:`~.gather.gather` runs every probe of the machine at once and returns
:class:`~.facts.Facts`; :func:`~.assess.assess` turns the facts and the lab spec into
:class:`~.facts.Finding` s, each with what to do (what each provider needs is in
:mod:`.providers`). :func:`run_doctor` does both. Where the probes look is a
:class:`~.facts.Host` (default: this machine), so tests point them at other files, another
architecture or another PATH without mocking anything. The front ends render the findings
(the CLI in :mod:`mesoslab.cli.doctor_view`).
"""

from __future__ import annotations

from pathlib import Path

from mesoslab.errors import LabSpecError
from mesoslab.lab.doctor.assess import assess, exit_status
from mesoslab.lab.doctor.facts import FAIL, OK, WARN, Facts, Finding, Host
from mesoslab.lab.doctor.gather import gather
from mesoslab.lab.spec import LAB_FILE, LabSpec, find_lab_dir, load_lab

__all__ = [
    "FAIL",
    "OK",
    "WARN",
    "Facts",
    "Finding",
    "Host",
    "assess",
    "doctor_for_dir",
    "exit_status",
    "gather",
    "run_doctor",
]


def run_doctor(
    spec: LabSpec | None, host: Host | None = None, *, lab_dir: Path | None = None
) -> list[Finding]:
    """Probe this machine (or ``host``) and say what stands between it and the lab."""
    return assess(spec, gather(spec, host, lab_dir))


def doctor_for_dir(directory: str | Path | None, host: Host | None = None) -> list[Finding]:
    """Doctor for the lab in ``directory`` (default: the lab around the current folder, if
    any). A lab.toml that does not parse is a finding, not an exception."""
    folder = Path(directory).resolve() if directory is not None else find_lab_dir()
    spec: LabSpec | None = None
    error = ""
    if folder is not None and (folder / LAB_FILE).is_file():
        try:
            spec = load_lab(folder)
        except LabSpecError as exc:
            error = str(exc)
    facts = gather(spec, host, folder)
    facts.lab_error = error
    return assess(spec, facts)
