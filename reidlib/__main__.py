"""`python -m reidlib …`: see `reidlib.cli`."""

from reidlib.cli import main

raise SystemExit(main())
