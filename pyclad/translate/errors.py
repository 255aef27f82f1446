"""The error of a clad-API construct pyclad cannot translate (located, naming the construct)."""

from __future__ import annotations

from ..errors import UnsupportedError


class TranslateError(UnsupportedError):
    """A clad call pyclad cannot translate: an unknown option, an unresolvable function
    argument, a mode pyclad lacks.  Never a silently different program."""
