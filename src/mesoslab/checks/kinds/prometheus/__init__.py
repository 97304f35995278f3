"""``prometheus.*`` check kinds: what a Prometheus server scrapes and answers
(:mod:`.server`: ``/api/v1/targets``, ``/api/v1/query``) and what an exporter serves on its
``/metrics`` (:mod:`.exporter`).

There is no ``prometheus`` role: the server is the node a check runs ``on`` (default: the
``master`` role, where lesson 8 runs Prometheus, because marathon-lb holds :9090 on agent1).
Ports come from the inventory's ``[ports]`` (``prometheus`` 9090, ``mesos_exporter`` 9105).
"""
