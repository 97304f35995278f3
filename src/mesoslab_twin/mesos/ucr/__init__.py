"""The twin agent's unified (Mesos) containerizer with Docker images.

``--containerizers=mesos --image_providers=docker --isolation=filesystem/linux,docker/runtime``:
:mod:`.flags` refuses the combinations Mesos refuses, :mod:`.store` pulls an image (over a
registry's v2 API, :mod:`.registry`, or from a folder of ``docker save`` archives,
:mod:`.archives`) into ``--docker_store_dir`` with Mesos's layout, :mod:`.provisioner`
builds the container's root filesystem from the layers (the ``copy`` backend, whiteouts
applied), :mod:`.runtime` takes the command, environment and working directory from the
image as the ``docker/runtime`` isolator does, and :mod:`.launcher` runs the task in its
own mount and pid namespaces (and a network namespace when asked), chrooted into the rootfs
with the sandbox mapped in. :mod:`.enter` is the last step inside the namespaces.
"""
