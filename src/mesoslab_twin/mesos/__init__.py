"""The emulated Mesos: ``mesos-master`` (:mod:`.master`, its state in :mod:`.master_state`,
its JSON in :mod:`.master_views`), ``mesos-slave`` (:mod:`.agent`, its tasks as processes in
:mod:`.tasks`, its checkpoint in :mod:`.checkpoint`), the scheduler driver frameworks use
(:mod:`.scheduler`) and the tools ``mesos-execute`` (:mod:`.execute`) and ``mesos-resolve``
(:mod:`.resolve`)."""
