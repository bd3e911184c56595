"""`python -m minimixer ...`: see `minimixer.cli`."""

import sys

from .cli import main

sys.exit(main())
