"""Mesos-DNS's HTTP API on ``httpport`` (resolver/resolver.go ``configureHTTP``; JSON is
pretty-printed as go-restful's ``WriteAsJson`` does: ``json.MarshalIndent(v, " ", " ")``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from mesoslab_twin.common.httpd import Reply, Request, Router, text_reply
from mesoslab_twin.mesosdns.config import Config
from mesoslab_twin.mesosdns.records import Records

SERVICE_URL = "https://github.com/mesosphere/mesos-dns"


def go_json(value: Any) -> Reply:
    text = json.dumps(value, indent=1, ensure_ascii=False).replace("\n", "\n ")
    return Reply(status=200, body=text.encode("utf-8"), content_type="application/json")


def _clean(name: str) -> str:
    """cleanWild + lower-case + trailing dot."""
    dom = name.replace(".*", "").lower()
    return dom if dom.endswith(".") else dom + "."


class MesosDnsHttp:
    def __init__(self, version: str, config: Config, records: Callable[[], Records]) -> None:
        self.version = version
        self.config = config
        self.records = records

    def routes(self) -> Router:
        router = Router()
        router.add("GET", r"/v1/version", self.get_version)
        router.add("GET", r"/v1/config", self.get_config)
        router.add("GET", r"/v1/hosts/([^/]+)", self.get_host)
        router.add("GET", r"/v1/hosts/([^/]+)/ports", self.get_ports)
        router.add("GET", r"/v1/services/([^/]+)", self.get_service)
        if self.config.EnumerationOn:
            router.add("GET", r"/v1/enumerate", self.get_enumerate)
            router.add("GET", r"/v1/axfr", self.get_axfr)
        return router

    def get_version(self, _request: Request, _match: re.Match[str]) -> Reply:
        return go_json({"Service": "Mesos-DNS", "URL": SERVICE_URL, "Version": self.version})

    def get_config(self, _request: Request, _match: re.Match[str]) -> Reply:
        return go_json(self.config.to_json())

    def get_host(self, _request: Request, match: re.Match[str]) -> Reply:
        dom = _clean(match.group(1))
        records = self.records()
        found = [{"host": dom, "ip": ip} for ip in records.As.get(dom, {})]
        found += [{"host": dom, "ip": ip} for ip in records.AAAAs.get(dom, {})]
        return go_json(found or [{"host": "", "ip": ""}])

    def get_ports(self, _request: Request, _match: re.Match[str]) -> Reply:
        return text_reply("To be implemented...", 501)

    def get_service(self, _request: Request, match: re.Match[str]) -> Reply:
        service = match.group(1)
        dom = _clean(service)
        records = self.records()
        found = []
        for value in records.SRVs.get(dom, {}):
            host, _, port = value.rpartition(":")
            for table in (records.As, records.AAAAs):
                ip = table.first(host)
                if ip is not None:
                    found.append({"service": service, "host": host, "ip": ip, "port": port})
        return go_json(found or [{"service": "", "host": "", "ip": "", "port": ""}])

    def get_enumerate(self, _request: Request, _match: re.Match[str]) -> Reply:
        return go_json(self.records().enumerate_json())

    def get_axfr(self, _request: Request, _match: re.Match[str]) -> Reply:
        records = self.records()
        return go_json(
            {
                "TTL": self.config.TTL,
                "Serial": self.config.SOASerial,
                "RefreshSeconds": self.config.RefreshSeconds,
                "Mname": self.config.SOAMname,
                "Rname": self.config.SOARname,
                "Domain": self.config.Domain,
                "Records": {
                    "As": records.As.to_json(),
                    "AAAAs": records.AAAAs.to_json(),
                    "SRVs": records.SRVs.to_json(),
                },
            }
        )
