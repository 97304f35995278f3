"""Base provisioning of rehearsal nodes (Debian LXC containers with the twin services).

Only hostname and ``/etc/hosts`` (the same step as on CentOS 7), and a check that the box
has the tools the lessons' commands use. No time step: containers share the host's clock.
No packages: lesson 1's rehearsal variant installs the twin services.
"""

from __future__ import annotations

from mesoslab.lab.spec import LabSpec
from mesoslab.provision.steps import ProvisionStep, hosts_step, script

# Commands the lessons' command blocks and host checks run on a node.
REQUIRED_TOOLS = ("sh", "sudo", "curl", "python3", "systemctl", "getent", "awk", "tee")


def rehearsal_steps(spec: LabSpec) -> list[ProvisionStep]:
    return [hosts_step(spec), tools_step()]


def tools_step(tools: tuple[str, ...] = REQUIRED_TOOLS) -> ProvisionStep:
    body = f"""
missing=""
for tool in {" ".join(tools)}; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "the box lacks:$missing (the lessons' commands need them);" \\
    "rebuild the rehearsal box with mesoslab box build" >&2
  exit 1
fi
echo "the lessons' tools are there: {", ".join(tools)}"
"""
    return ProvisionStep(
        id="tools",
        title="Tools the lessons use (curl, python3, sudo, …)",
        script=script(body),
    )
