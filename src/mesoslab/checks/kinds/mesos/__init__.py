"""``mesos.*`` check kinds: master health, version and leader (:mod:`.master`), flags
(:mod:`.flags`), agents, frameworks and tasks (:mod:`.cluster`), one framework's state and its
declined offers (:mod:`.framework`)."""
