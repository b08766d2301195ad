"""`python -m nst_tui.cli`: the `nst-tui` command."""

import sys

from nst_tui.cli.command import main

sys.exit(main())
