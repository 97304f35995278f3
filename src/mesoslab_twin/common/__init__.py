"""What the emulated daemons share: configuration read like the packages (:mod:`.config`),
Mesos values (:mod:`.values`), the HTTP server (:mod:`.httpd`) and the twins' own calls
between each other (:mod:`.wire`), ZooKeeper leader election (:mod:`.zk`), and the process
side of a daemon: logs, Mesos' EXIT, waiting for SIGTERM (:mod:`.process`)."""
