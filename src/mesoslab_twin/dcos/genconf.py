"""``dcos_generate_config.sh`` (DC/OS 1.10.0's installer), emulated: ``--genconf``.

Reads ``genconf/config.yaml`` and ``genconf/ip-detect`` in the current folder, validates
them with the messages of DC/OS's ``gen/calc.py``, and writes ``genconf/serve/``:
``dcos_install.sh``, ``bootstrap.latest``, ``bootstrap/<id>.bootstrap.tar.xz`` (the
cluster's configuration and ``ip-detect``; what each node installs from it is rendered by
:mod:`.install`), ``bootstrap/<id>.active.json`` and ``cluster-package-info.json``. The
real installer is a ~1 GB self-extracting script holding a Docker image; this one holds no
DC/OS at all, and says so.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

from mesoslab_twin.dcos import DCOS_VERSION, EMULATION_NOTE, miniyaml
from mesoslab_twin.dcos import overlay_network as net

SAMPLE_CONFIG = """---
cluster_name: 'DC/OS'
master_discovery: static
exhibitor_storage_backend: 'static'
resolvers:
- 8.8.8.8
- 8.8.4.4
ssh_port: 22
process_timeout: 10000
bootstrap_url: file:///opt/dcos_install_tmp
"""
DEFAULTS: dict[str, Any] = {
    "exhibitor_storage_backend": "static",
    "oauth_enabled": "true",
    "telemetry_enabled": "true",
    "check_time": "true",
    "dns_search": "",
    "docker_remove_delay": "1hrs",
    "gc_delay": "2days",
    "dcos_overlay_enable": "true",
    "dcos_overlay_mtu": "1420",
    "dcos_overlay_config_attempts": "4",
}
REQUIRED = ("bootstrap_url", "cluster_name", "master_discovery")
TRUE_FALSE = ("oauth_enabled", "telemetry_enabled", "check_time", "dcos_overlay_enable")
UNSUPPORTED_MODES = (
    "--web",
    "--preflight",
    "--install-prereqs",
    "--deploy",
    "--postflight",
    "--aws-cloudformation",
    "--generate-node-upgrade-script",
)
USAGE = """usage: dcos_generate_config.sh [--genconf | --validate-config | --version | --help]
(mesoslab twin: the emulation does --genconf, the "advanced" install; the SSH-based modes
--preflight/--deploy/--postflight and the --web GUI are not emulated: run dcos_install.sh
on each node instead)"""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def validate(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(final arguments, errors by key) -- the errors are DC/OS's assertion messages."""
    args = {**DEFAULTS, **config}
    errors: dict[str, str] = {}
    for key in REQUIRED:
        if args.get(key) in (None, ""):
            errors[key] = f"Must set {key}, no way to calculate value"
    url = _text(args.get("bootstrap_url"))
    if "bootstrap_url" not in errors:
        if len(url) <= 1:
            errors["bootstrap_url"] = (
                "Should be a url (http://example.com/bar or file:///path/to/local/cache)"
            )
        elif url.endswith("/"):
            errors["bootstrap_url"] = "Must not end in a '/'"
    discovery = _text(args.get("master_discovery"))
    if discovery and discovery not in ("static", "master_http_loadbalancer"):
        errors["master_discovery"] = (
            f"Provided value '{discovery}' not one of ['static', 'master_http_loadbalancer']"
        )
    if discovery == "static":
        masters = args.get("master_list")
        if masters in (None, ""):
            errors["master_list"] = "Must set master_list, no way to calculate value"
        elif not isinstance(masters, list):
            errors["master_list"] = (
                "Must be a JSON formatted list, but couldn't be parsed the given value"
            )
        else:
            bad = [m for m in masters if not _ipv4(m)]
            if bad:
                errors["master_list"] = (
                    f"Only IPv4 values are allowed. The following are invalid IPv4 addresses: {bad}"
                )
            elif len(masters) not in (1, 3, 5, 7, 9):
                errors["num_masters"] = f"Must have 1, 3, 5, 7, or 9 masters. Found {len(masters)}"
    backend = _text(args.get("exhibitor_storage_backend"))
    if backend == "static" and discovery and discovery != "static":
        errors["exhibitor_storage_backend"] = (
            "When master_discovery is not static, exhibitor_storage_backend must be non-static."
            " Having a variable list of master which are discovered by agents using the"
            " master_http_loadbalancer means exhibitor also needs a shared storage backend"
        )
    elif backend not in ("static", "zookeeper", "aws_s3", "azure", "shared_filesystem"):
        errors["exhibitor_storage_backend"] = (
            f"Provided value '{backend}' not one of ['aws_s3', 'azure', 'shared_filesystem', "
            "'static', 'zookeeper']"
        )
    resolvers = args.get("resolvers")
    if not isinstance(resolvers, list) or not resolvers:
        errors["resolvers"] = (
            "Must set resolvers, no way to calculate value"
            if resolvers is None
            else "Must be a JSON formatted list, but couldn't be parsed the given value"
        )
    else:
        bad = [
            r
            for r in resolvers
            if not _ipv4(str(r).rsplit(":", 1)[0] if str(r).count(":") == 1 else r)
        ]
        if bad:
            errors["resolvers"] = (
                f"Only IPv4 values are allowed. The following are invalid IPv4 addresses: {bad}"
            )
    search = _text(args.get("dns_search"))
    if "\n" in search:
        errors["dns_search"] = "Newlines are not allowed"
    elif "," in search:
        errors["dns_search"] = "Commas are not allowed. Delimit domains with spaces."
    elif len(search.split()) > 6:
        errors["dns_search"] = "Must contain no more than 6 domains"
    elif len(search) >= 256:
        errors["dns_search"] = "Must be fewer than 256 characters"
    for key in TRUE_FALSE:
        value = _text(args.get(key))
        if value not in ("true", "false"):
            errors[key] = f"Must be one of ['false', 'true']. Got {value}"
        args[key] = value
    if not errors:
        masters = [str(m) for m in args.get("master_list") or []]
        args["master_list"] = masters
        args["num_masters"] = len(masters)
        args["master_quorum"] = len(masters) // 2 + 1
        args["resolvers"] = [str(r) for r in resolvers or []]
        args["dcos_overlay_network"] = net.DEFAULT_NETWORK
        args["dcos_version"] = DCOS_VERSION
    return args, errors


def _ipv4(value: Any) -> bool:
    try:
        ipaddress.IPv4Address(str(value))
    except ValueError:
        return False
    return True


def bootstrap_id(args: dict[str, Any], ip_detect: str) -> str:
    doc = json.dumps({"args": args, "ip-detect": ip_detect}, sort_keys=True)
    return hashlib.sha1(doc.encode()).hexdigest()


def bootstrap_tarball(args: dict[str, Any], ip_detect: str, bid: str) -> bytes:
    """The tree the nodes unpack into /opt/mesosphere (the emulation's: configuration only)."""
    files = {
        "etc/dcos-config.json": json.dumps(args, indent=2, sort_keys=True) + "\n",
        "etc/master_list": json.dumps(args["master_list"]) + "\n",
        "bin/detect_ip": ip_detect,
        "active/dcos-metadata/etc/dcos-version.json": json.dumps(
            {
                "version": DCOS_VERSION,
                "dcos-image-commit": args.get("dcos_image_commit", ""),
                "bootstrap-id": bid,
            },
            indent=2,
        )
        + "\n",
        "README.mesoslab": EMULATION_NOTE + ": configuration only, no DC/OS packages.\n",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.startswith("bin/") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


INSTALL_SH = """#!/bin/bash
# dcos_install.sh for cluster {cluster!r}, DC/OS {version} -- {note}.
# Usage: sudo bash dcos_install.sh [--disable-preflight|--preflight-only|
#                                   --no-block-dcos-setup] <role>...
# Roles: master, slave, slave_public. The work is the twin's (mesoslab_twin.dcos.install),
# which is on every rehearsal node in /opt/mesoslab-twin.
set -o errexit -o nounset -o pipefail
BOOTSTRAP_URL={url}
BOOTSTRAP_ID={bid}
export PYTHONPATH=/opt/mesoslab-twin${{PYTHONPATH:+:$PYTHONPATH}}
exec python3 -m mesoslab_twin dcos-install --bootstrap-url="$BOOTSTRAP_URL" \\
  --bootstrap-id="$BOOTSTRAP_ID" "$@"
"""


def generate(folder: Path, out: Any = None) -> int:
    out = out or sys.stdout
    genconf = folder / "genconf"
    config_path = genconf / "config.yaml"
    print(f"({EMULATION_NOTE}: nothing is extracted, no Docker image is loaded)", file=out)
    print("====> EXECUTING CONFIGURATION GENERATION", file=out)
    print("Generating configuration files...", file=out)
    if not config_path.exists():
        genconf.mkdir(parents=True, exist_ok=True)
        config_path.write_text(SAMPLE_CONFIG)
        print(
            f"Created a sample {config_path.relative_to(folder)}: edit it for your cluster",
            file=out,
        )
    try:
        config = miniyaml.loads(config_path.read_text(encoding="utf-8", errors="replace"))
    except miniyaml.YamlError as exc:
        print(f"====> ERROR: Unable to parse genconf/config.yaml: {exc}", file=out)
        return 1
    args, errors = validate(config)
    ip_detect_path = genconf / "ip-detect"
    if not ip_detect_path.is_file():
        errors["ip_detect_filename"] = (
            f"Ip-detect script: {ip_detect_path.relative_to(folder)}. Does not exist."
        )
    if errors:
        for key in sorted(errors):
            print(f"====> {key}: {errors[key]}", file=out)
        print(
            "====> Configuration validation failed: fix genconf/config.yaml and run again", file=out
        )
        return 1
    ip_detect = ip_detect_path.read_text(encoding="utf-8", errors="replace")
    from mesoslab_twin.dcos import DCOS_IMAGE_COMMIT

    args["dcos_image_commit"] = DCOS_IMAGE_COMMIT
    bid = bootstrap_id(args, ip_detect)
    args["bootstrap_id"] = bid
    serve = genconf / "serve"
    (serve / "bootstrap").mkdir(parents=True, exist_ok=True)
    (serve / "bootstrap" / f"{bid}.bootstrap.tar.xz").write_bytes(
        bootstrap_tarball(args, ip_detect, bid)
    )
    (serve / "bootstrap" / f"{bid}.active.json").write_text(
        json.dumps(["dcos-config--setup_" + bid]) + "\n"
    )
    (serve / "bootstrap.latest").write_text(bid + "\n")
    (serve / "cluster-package-info.json").write_text(
        json.dumps(
            {
                "dcos-config": {
                    "id": "dcos-config--setup_" + bid,
                    "filename": f"packages/dcos-config/dcos-config--setup_{bid}.tar.xz",
                }
            },
            indent=2,
        )
        + "\n"
    )
    script = INSTALL_SH.format(
        cluster=str(args["cluster_name"]),
        version=DCOS_VERSION,
        note=EMULATION_NOTE,
        url=json.dumps(str(args["bootstrap_url"])),
        bid=bid,
    )
    (serve / "dcos_install.sh").write_text(script)
    shown = {k: args[k] for k in sorted(args) if k not in ("dcos_overlay_network",)}
    print("Final arguments:" + json.dumps(shown, indent=2, sort_keys=True), file=out)
    print("Generating Bash configuration files for DC/OS", file=out)
    print(f"Package filename: packages/dcos-config/dcos-config--setup_{bid}.tar.xz", file=out)
    print("====> SUCCESS: genconf/serve/ holds dcos_install.sh and the bootstrap files", file=out)
    return 0


def run(argv: list[str], folder: Path | None = None) -> int:
    where = folder or Path.cwd()
    modes = [
        a
        for a in argv
        if a.startswith("--")
        and a not in ("--offline", "-v", "--verbose", "--cli-telemetry-disabled")
    ]
    mode = modes[0] if modes else "--genconf"
    if mode in ("--help", "-h"):
        print(USAGE)
        return 0
    if mode == "--version":
        print(json.dumps({"version": DCOS_VERSION, "variant": "", "note": EMULATION_NOTE}))
        return 0
    if mode in UNSUPPORTED_MODES:
        print(f"{mode}: not part of the emulation ({EMULATION_NOTE}).", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    if mode == "--validate-config":
        try:
            config = miniyaml.loads((where / "genconf" / "config.yaml").read_text())
        except (OSError, miniyaml.YamlError) as exc:
            print(f"====> ERROR: {exc}")
            return 1
        _, errors = validate(config)
        for key in sorted(errors):
            print(f"====> {key}: {errors[key]}")
        if not errors:
            print("====> VALIDATION SUCCEEDED")
        return 1 if errors else 0
    if mode != "--genconf":
        print(f"unknown option {mode}\n{USAGE}", file=sys.stderr)
        return 2
    return generate(where)
