"""``python3 -m mesoslab_twin <daemon> [options]``."""

from mesoslab_twin.cli import main

raise SystemExit(main())
