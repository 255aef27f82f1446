"""Compilation back ends: in-process JIT (cppyy) and ahead-of-time headers."""

from __future__ import annotations

import os

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _data_dir(installed: str, source_tree: str) -> str:
    """A directory shipped with pyclad: inside the installed package (a wheel puts it there),
    else in the source tree beside the package (a checkout or an editable install)."""
    inside = os.path.join(_PACKAGE, installed)
    if os.path.isdir(inside):
        return inside
    return os.path.join(os.path.dirname(_PACKAGE), source_tree)


def runtime_include() -> str:
    """Directory holding pyclad's C++ headers (``pyclad/runtime.hpp``), for ``-I``."""
    return _data_dir("include", os.path.join("cpp", "include"))


def cmake_dir() -> str:
    """Directory holding ``pycladConfig.cmake``, for CMake's ``pyclad_DIR``."""
    return _data_dir("cmake", "cmake")
