"""Parse the output of ``vagrant ssh-config`` into SSH targets.

Vagrant prints one ``Host <machine>`` section per machine, and may list several
``IdentityFile`` lines in a section (the key it inserted, then the insecure key): every one
is kept, the first as ``SshTarget.key`` and the others as ``extra_keys``, so a login works
whichever key the machine accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mesoslab.lab.inventory import SshTarget

# "Keyword value" or "Keyword=value" (ssh_config(5))
_OPTION = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+)(.*)$")


@dataclass
class _Section:
    host: str
    options: dict[str, str] = field(default_factory=dict)
    identity_files: list[str] = field(default_factory=list)


def _value(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def parse_ssh_config(text: str) -> dict[str, SshTarget]:
    """``{machine name: SshTarget}`` for every ``Host`` section in ``text``."""
    sections: list[_Section] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _OPTION.match(line)
        if match is None:
            continue
        key = match.group(1).lower()
        value = _value(match.group(2))
        if key == "host":
            sections.append(_Section(host=value))
            continue
        if not sections:
            continue  # options before the first Host section: not from vagrant
        section = sections[-1]
        if key == "identityfile":
            if value and value not in section.identity_files:
                section.identity_files.append(value)
        else:
            section.options.setdefault(key, value)
    return {section.host: _target(section) for section in sections}


def _target(section: _Section) -> SshTarget:
    port_text = section.options.get("port", "22")
    try:
        port = int(port_text)
    except ValueError:
        port = 22
    keys = section.identity_files
    return SshTarget(
        host=section.options.get("hostname", section.host),
        user=section.options.get("user", "vagrant"),
        port=port,
        key=keys[0] if keys else None,
        extra_keys=tuple(keys[1:]),
    )
