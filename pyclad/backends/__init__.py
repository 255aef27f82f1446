"""Compilation back ends: in-process JIT (cppyy) and ahead-of-time headers."""

from __future__ import annotations

import os


def runtime_include() -> str:
    """Directory holding pyclad's C++ headers (``pyclad/runtime.hpp``)."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "include")
