"""Emulated marathon-lb (mesosphere/marathon-lb v1.15.0, lessons-5-10-facts §2).

Only the Python half is emulated: :mod:`.daemon` reads Marathon (``/v2/apps?embed=apps.tasks``,
and in ``--sse`` mode the ``/v2/events`` stream), writes a real HAProxy configuration
(:mod:`.haproxy_config`) from the apps whose ``HAPROXY_GROUP`` label matches ``--group``,
checks it with ``haproxy -c -f``, moves it into place and reloads the **real** HAProxy
(``systemctl reload haproxy`` on the node). HAProxy itself serves every port: one frontend per
service port and the ``:9090`` ``listen stats`` section, where, as in the real marathon-lb,
Lua services (``lua/marathon_lb.lua``) answer ``/_haproxy_getconfig``, ``/_haproxy_getpids``,
``/_haproxy_getvhostmap``, ``/_haproxy_getappmap`` and ``/_mlb_signal/hup|usr1``.
"""
