"""Host checks over SSH, one module per kind of thing looked at: :mod:`.files` (files and
JSON files), :mod:`.systemd` (units), :mod:`.commands` (commands, listening ports).

Every kind runs on the nodes a lesson names with ``on:`` (there is no default role) and
needs ``[node.ssh]`` in the inventory; without it the runner reports ``skip``. How a host
check runs a command or reads a file over SSH is :mod:`.common`.
"""
