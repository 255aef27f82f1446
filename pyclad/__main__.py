"""``python -m pyclad``: the same as the ``pyclad`` command."""

import sys

from .cli import main

sys.exit(main())
