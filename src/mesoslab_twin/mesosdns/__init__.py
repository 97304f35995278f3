"""Emulated Mesos-DNS (mesosphere/mesos-dns): DNS records for the tasks of a Mesos cluster,
served over real DNS (UDP and TCP) and an HTTP API. See :mod:`.daemon` and
docs/sources/mesos-dns.md for what it does and where each behaviour comes from."""

# /v1/version and -version: the release whose behaviour is emulated (the first to read
# /master/state rather than /master/state.json; facts §1.1).
MESOS_DNS_VERSION = "v0.7.0-rc2"
