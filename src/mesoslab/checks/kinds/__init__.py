"""The check kinds, one module (or folder) per namespace: ``mesos.*`` kinds live in
``kinds/mesos``, ``host.*`` in ``kinds/host`` and so on. :func:`mesoslab.checks.registry.catalogue`
imports every module found here, so a new kind needs no registry edit."""
