"""``dcos.*`` check kinds (lesson 10): what DC/OS's Admin Router answers on a master's port
80 (:mod:`.cluster`: the version file, the units' health), the overlay master's agents and
subnets, and the tasks on the overlay (:mod:`.overlay`: their addresses, and whether one
reaches the other across agents). Ports: ``dcos_adminrouter`` (80), ``mesos_master``,
``marathon`` of the inventory."""
