"""``python3 -m mesoslab.twin <daemon> [options]``."""

from mesoslab.twin.cli import main

raise SystemExit(main())
