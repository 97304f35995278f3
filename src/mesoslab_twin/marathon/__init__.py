"""The emulated Marathon 1.4: the daemon and its framework (:mod:`.daemon`), app definitions
(:mod:`.apps`), the REST API (:mod:`.api`) and Marathon's own health checks
(:mod:`.health`)."""
