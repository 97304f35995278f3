"""Docker for the rehearsal lab, which cannot run containers: a daemon stand-in that only
listens on the socket (:mod:`.dockerd`) and the web server a Docker task runs instead of its
image (:mod:`.placeholder`)."""
