"""Entry point of ``python -m serving``."""

from serving.cli import main

raise SystemExit(main())
