"""Emulated mesos_exporter (mesosphere/mesos_exporter 1.1.2) for the rehearsal lab.

``python3 -m mesoslab_twin mesos_exporter -master http://master1:5050`` (or ``-slave
http://agent1:5051``) serves ``/metrics`` on ``:9105`` in the Prometheus text format. On
every scrape it asks the Mesos daemon for ``/metrics/snapshot`` and ``/state`` (master) or
``/metrics/snapshot`` and ``/slave(1)/state`` (agent), as the real exporter does, and maps
them to the real metric names, help texts, types and labels (:mod:`.families`).
:mod:`.exposition` writes the text format, :mod:`.daemon` parses the Go-style flags and
serves HTTP.
"""

# The release whose names and behaviour are emulated (VERSION at ba95fe9b, 2019).
EXPORTER_VERSION = "1.1.2"
