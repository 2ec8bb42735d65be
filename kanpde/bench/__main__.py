"""``python -m kanpde.bench``: the same as ``kanpde bench``."""

import sys

from .cli import main

sys.exit(main())
