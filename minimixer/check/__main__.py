"""`python -m minimixer.check PATH...`: the same as `python -m minimixer check PATH...`."""

import sys

from .command import main

sys.exit(main())
