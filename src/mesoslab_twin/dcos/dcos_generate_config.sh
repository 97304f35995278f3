#!/usr/bin/env bash
# mesoslab twin: stands in for DC/OS 1.10.0's dcos_generate_config.sh on the rehearsal lab.
# The real one (~1 GB, from downloads.dcos.io, closed in 2023) extracts a Docker image and
# runs the configuration generator in it; this one runs the twin's emulation, which writes
# genconf/serve/ the same way (see mesoslab_twin/dcos/genconf.py). Copy it next to genconf/.
export PYTHONPATH=/opt/mesoslab-twin${PYTHONPATH:+:$PYTHONPATH}
exec python3 -m mesoslab_twin dcos-genconf "$@"
