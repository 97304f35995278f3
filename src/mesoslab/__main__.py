"""``python -m mesoslab``: the same as the ``mesoslab`` command."""

from mesoslab.cli.main import main

main()
