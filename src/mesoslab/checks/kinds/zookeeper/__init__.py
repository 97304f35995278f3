"""ZooKeeper checks. :mod:`.fourletter`: liveness (ruok/srvr), server mode and ensemble
health, from four-letter words over a raw socket (mesoslab.remote.zk4lw). :mod:`.masters`:
the Mesos masters' leader-election znodes, read with kazoo (imported only when that check
runs). Facts: reference/mesos-api-facts.md §2.
"""
