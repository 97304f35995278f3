"""Mesos-DNS's ``config.json``: the keys, defaults and checks of records/config.go and
records/validation.go (mesosphere/mesos-dns; docs/sources/mesos-dns.md).

Keys are matched like Go's ``encoding/json``: the exact name first, else any case
(``refreshSeconds``, ``RefreshSeconds`` and ``refreshseconds`` are one key); unknown keys
(``"email"``, ``"ns"``) are ignored. A bad file or value stops the daemon with the message
the real one logs (:class:`ConfigError`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DOMAIN_RE = re.compile(r"^[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*$")
IP_SOURCES = ("host", "docker", "mesos", "netinfo")


class ConfigError(Exception):
    """The configuration cannot be used; the message is what Mesos-DNS logs before it exits."""


@dataclass
class Credentials:
    Principal: str = ""
    Secret: str = ""


# (Go field, JSON key, kind); the order is the struct's, which is /v1/config's.
FIELDS: list[tuple[str, str, str]] = [
    ("RefreshSeconds", "RefreshSeconds", "int"),
    ("Port", "Port", "int"),
    ("Timeout", "Timeout", "int"),
    ("StateTimeoutSeconds", "StateTimeoutSeconds", "int"),
    ("ZkDetectionTimeout", "ZkDetectionTimeout", "int"),
    ("HTTPPort", "HttpPort", "int"),
    ("TTL", "TTL", "int"),
    ("SRVRecordDefaultWeight", "SRVRecordDefaultWeight", "uint16"),
    ("SOASerial", "SOASerial", "uint32"),
    ("SOARefresh", "SOARefresh", "uint32"),
    ("SOARetry", "SOARetry", "uint32"),
    ("SOAExpire", "SOAExpire", "uint32"),
    ("SOAMinttl", "SOAMinttl", "uint32"),
    ("SOAMname", "SOAMname", "string"),
    ("SOARname", "SOARname", "string"),
    ("Masters", "Masters", "[]string"),
    ("ZoneResolvers", "ZoneResolvers", "map[string][]string"),
    ("Resolvers", "Resolvers", "[]string"),
    ("IPSources", "IPSources", "[]string"),
    ("Zk", "Zk", "string"),
    ("Domain", "Domain", "string"),
    ("File", "File", "string"),
    ("Listener", "Listener", "string"),
    ("HTTPListener", "HTTPListener", "string"),
    ("RecurseOn", "RecurseOn", "bool"),
    ("DNSOn", "DnsOn", "bool"),
    ("HTTPOn", "HttpOn", "bool"),
    ("ExternalOn", "ExternalOn", "bool"),
    ("EnforceRFC952", "EnforceRFC952", "bool"),
    ("SetTruncateBit", "SetTruncateBit", "bool"),
    ("EnumerationOn", "EnumerationOn", "bool"),
    ("MesosHTTPSOn", "MesosHTTPSOn", "bool"),
    ("CACertFile", "CACertFile", "string"),
    ("CertFile", "CertFile", "string"),
    ("KeyFile", "KeyFile", "string"),
    ("MesosCredentials", "MesosCredentials", "credentials"),
    ("IAMConfigFile", "IAMConfigFile", "string"),
    ("MesosAuthentication", "MesosAuthentication", "string"),
]
_LIMITS = {"int": (-(2**63), 2**63 - 1), "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1)}


@dataclass
class Config:
    """records.Config with NewConfig's defaults (Go field names)."""

    RefreshSeconds: int = 60
    Port: int = 53
    Timeout: int = 5
    StateTimeoutSeconds: int = 300
    ZkDetectionTimeout: int = 30
    HTTPPort: int = 8123
    TTL: int = 60
    SRVRecordDefaultWeight: int = 1
    SOASerial: int = 0
    SOARefresh: int = 60
    SOARetry: int = 600
    SOAExpire: int = 86400
    SOAMinttl: int = 60
    SOAMname: str = "ns1.mesos"
    SOARname: str = "root.ns1.mesos"
    Masters: list[str] | None = None
    ZoneResolvers: dict[str, list[str]] = field(default_factory=dict)
    Resolvers: list[str] | None = field(default_factory=lambda: ["8.8.8.8"])
    IPSources: list[str] | None = field(default_factory=lambda: ["netinfo", "mesos", "host"])
    Zk: str = ""
    Domain: str = "mesos"
    File: str = ""
    Listener: str = "0.0.0.0"
    HTTPListener: str = "0.0.0.0"
    RecurseOn: bool = True
    DNSOn: bool = True
    HTTPOn: bool = True
    ExternalOn: bool = True
    EnforceRFC952: bool = False
    SetTruncateBit: bool = True
    EnumerationOn: bool = True
    MesosHTTPSOn: bool = False
    CACertFile: str = ""
    CertFile: str = ""
    KeyFile: str = ""
    MesosCredentials: Credentials = field(default_factory=Credentials)
    IAMConfigFile: str = ""
    MesosAuthentication: str = ""

    @property
    def masters(self) -> list[str]:
        return list(self.Masters or [])

    def to_json(self) -> dict[str, Any]:
        """What ``GET /v1/config`` answers: every field, under its JSON name."""
        out: dict[str, Any] = {}
        for name, key, _kind in FIELDS:
            value = getattr(self, name)
            if isinstance(value, Credentials):
                value = {"Principal": value.Principal, "Secret": value.Secret}
            out[key] = value
        return out


def _kind_error(key: str, kind: str, value: Any) -> ConfigError:
    got = {bool: "bool", str: "string", list: "array", dict: "object"}.get(type(value), "number")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        got = f"number {value}"
    return ConfigError(
        f"json: cannot unmarshal {got} into Go struct field Config.{key} of type {kind}"
    )


def _convert(key: str, kind: str, value: Any) -> Any:
    if value is None:  # JSON null leaves a Go value as it is
        return None
    if kind in _LIMITS:
        low, high = _LIMITS[kind]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _kind_error(key, kind, value)
        if value != int(value) or not low <= value <= high:
            raise _kind_error(key, kind, value)
        return int(value)
    if kind == "string":
        if not isinstance(value, str):
            raise _kind_error(key, kind, value)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _kind_error(key, kind, value)
        return value
    if kind == "[]string":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _kind_error(key, kind, value)
        return list(value)
    if kind == "map[string][]string":
        if not isinstance(value, dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in value.values()
        ):
            raise _kind_error(key, kind, value)
        return {str(k): list(v) for k, v in value.items()}
    if kind == "credentials":
        if not isinstance(value, dict):
            raise _kind_error(key, "basic.Credentials", value)
        found = Credentials()
        for sub, item in value.items():
            for target in ("Principal", "Secret"):
                if sub.lower() == target.lower() and isinstance(item, str):
                    setattr(found, target, item)
        return found
    raise AssertionError(kind)


def read_config(path: str) -> Config:
    """records.readConfig: defaults, then the file's keys (``~/`` is the home folder)."""
    config = Config()
    home = os.environ.get("HOME") or os.environ.get("USERPROFILE") or "."
    config.File = os.path.abspath(path.replace("~/", home + "/", 1))
    try:
        text = Path(config.File).read_bytes()
    except OSError:
        raise ConfigError(f'missing configuration file: "{config.File}"') from None
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f'failed to unmarshal config file "{config.File}": {exc}') from None
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ConfigError(
            f'failed to unmarshal config file "{config.File}": json: cannot unmarshal '
            f"{kind} into Go value of type records.Config"
        )
    for json_key, value in data.items():
        match = next((f for f in FIELDS if f[1] == json_key), None)
        match = match or next((f for f in FIELDS if f[1].lower() == json_key.lower()), None)
        if match is None:
            continue  # unknown keys are ignored, as encoding/json does
        name, key, kind = match
        try:
            converted = _convert(key, kind, value)
        except ConfigError as exc:
            raise ConfigError(f'failed to unmarshal config file "{config.File}": {exc}') from None
        if converted is not None or kind in ("[]string",):
            setattr(config, name, converted)
    return config


def _split_host_port(text: str) -> tuple[str, str]:
    """Go's net.SplitHostPort (the part of it this file needs)."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"address {text}: missing ']' in address")
        host, rest = text[1:end], text[end + 1 :]
        if not rest.startswith(":"):
            raise ValueError(f"address {text}: missing port in address")
        return host, rest[1:]
    if ":" not in text:
        raise ValueError(f"address {text}: missing port in address")
    host, _, port = text.rpartition(":")
    if ":" in host:
        raise ValueError(f"address {text}: too many colons in address")
    return host, port


def _valid_port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) <= 65535


def _join(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def normalize_master(text: str) -> str:
    try:
        host, port = _split_host_port(text)
    except ValueError as exc:
        raise ConfigError(f"illegal host:port specified: {text}. Error: {exc}") from None
    with contextlib.suppress(ValueError):
        host = str(ipaddress.ip_address(host))
    if not _valid_port(port):
        raise ConfigError(f"illegal host:port specified: {text}")
    return _join(host, port)


def normalize_resolver(text: str) -> str:
    try:
        host, port = _split_host_port(text)
    except ValueError:
        host, port = text, "53"
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        raise ConfigError(f"illegal ip specified: {host}") from None
    if not _valid_port(port):
        raise ConfigError(f"illegal host:port specified: {text}")
    return _join(host, port)


def _unique(values: list[str], normalize: Any, what: str) -> None:
    seen: set[str] = set()
    for value in values:
        try:
            normal = normalize(value)
        except ConfigError as exc:
            raise ConfigError(f"error validating {what}: {exc}") from None
        if normal in seen:
            raise ConfigError(f"error validating {what}: duplicate found: {value}")
        seen.add(normal)


def local_resolvers(resolv_conf: str = "/etc/resolv.conf") -> list[str]:
    """records.GetLocalDNS: the nameservers of resolv.conf that are not this host's."""
    try:
        lines = Path(resolv_conf).read_text(errors="replace").splitlines()
    except OSError as exc:
        raise ConfigError(f"open {resolv_conf}: {exc.strerror or exc}") from None
    servers = [
        parts[1]
        for parts in (line.split() for line in lines)
        if len(parts) >= 2 and parts[0] == "nameserver"
    ]
    local = set(local_addresses()) | {"127.0.0.1", "::1"}
    return [s for s in servers if s not in local]


def local_addresses() -> list[str]:
    """The IPv4 addresses of this host's interfaces (SIOCGIFADDR on each), loopback too."""
    import fcntl
    import struct

    found: list[str] = []
    try:
        names = [name for _index, name in socket.if_nameindex()]
    except OSError:
        return found
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for name in names:
            try:
                request = struct.pack("256s", name.encode()[:15])
                answer = fcntl.ioctl(sock.fileno(), 0x8915, request)  # SIOCGIFADDR
            except OSError:
                continue
            found.append(socket.inet_ntoa(answer[20:24]))
    return found


def validate(config: Config) -> Config:
    """records.SetConfig after reading: the same checks, in the same order."""
    if not config.DNSOn and not config.HTTPOn:
        raise ConfigError("service validation failed: either DNS or HTTP server should be on")
    if not config.masters and not config.Zk:
        raise ConfigError(
            "service validation failed: specify Mesos masters or Zookeeper in config.json"
        )
    _unique(config.masters, normalize_master, "masters")
    if config.ExternalOn:
        if not config.Resolvers:
            config.Resolvers = local_resolvers()
        _unique(config.Resolvers, normalize_resolver, "resolvers")
        _validate_zone_resolvers(config.ZoneResolvers, config.Domain)
    sources = config.IPSources or []
    if not sources:
        raise ConfigError("IPSources validation failed: empty ip sources")
    if len(sources) != len(set(sources)):
        raise ConfigError("IPSources validation failed: duplicate ip source specified")
    for source in sources:
        if source not in IP_SOURCES:
            raise ConfigError(f'IPSources validation failed: invalid ip source "{source}"')
    if config.StateTimeoutSeconds <= 0:
        raise ConfigError(f"Invalid HTTP Timeout: {config.StateTimeoutSeconds}")
    config.Domain = config.Domain.lower()
    if not DOMAIN_RE.match(config.Domain):
        raise ConfigError(f"{config.Domain} is not a valid domain name")
    config.SOARname = config.SOARname.replace("@", ".").rstrip(".") + "."
    config.SOAMname = config.SOAMname.rstrip(".") + "."
    config.SOASerial = int(time.time()) & 0xFFFFFFFF
    if config.CertFile and not config.KeyFile:
        raise ConfigError("Missing private key")
    if config.KeyFile and not config.CertFile:
        raise ConfigError("Missing certificate")
    if config.MesosAuthentication not in ("", "basic", "iam"):
        raise ConfigError(f"unknown authentication mechanism: {config.MesosAuthentication!r}")
    if config.MesosAuthentication == "basic" and not config.MesosCredentials.Principal:
        raise ConfigError("basic authentication requires a principal (MesosCredentials)")
    if config.MesosAuthentication == "iam":
        raise ConfigError("the mesoslab twin does not emulate IAM authentication")
    return config


def _validate_zone_resolvers(zones: dict[str, list[str]], domain: str) -> None:
    all_domains = []
    for zone, resolvers in zones.items():
        if not resolvers:
            raise ConfigError(f"field ZoneResolver {zone} is empty")
        if not DOMAIN_RE.match(zone):
            raise ConfigError(f"invalid domain name: {zone}")
        _unique(resolvers, normalize_resolver, "resolvers")
        if zone == domain:
            raise ConfigError(f"can't specify ZoneResolver for Mesos domain ({domain})")
        all_domains.append("." + zone)
    all_domains.append("." + domain)
    for a in all_domains:
        for b in all_domains:
            if a != b and a.endswith(b):
                raise ConfigError(f"ambiguous zone resolvers: {a} is masked by {b}")


def load(path: str) -> Config:
    return validate(read_config(path))
