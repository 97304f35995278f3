"""The emulated Chronos 2.x: the daemon and its job scheduler (:mod:`.daemon`) and the REST
API under ``/scheduler`` (:mod:`.api`)."""
