"""What the tests share: real servers to test against (sshd, ZooKeeper, HTTP fixture servers,
twin daemons, LXC labs), free ports, paths. Test modules import from here, never from each
other."""
