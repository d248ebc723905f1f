"""``python -m corridormap.bench NAME [ARGS]``: see :mod:`corridormap.bench`."""

import sys

from . import main

sys.exit(main())
