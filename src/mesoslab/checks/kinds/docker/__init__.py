"""Docker check kinds: containers, images and the daemon on a node (``docker`` over SSH, as
root), and the lab registry's catalogue (its HTTP API)."""
