"""The embedded AWS stand-in: moto's server in-process, with the fixes a faithful lab needs.

:class:`Sandbox` (grader.sandbox.server) is loaded on first use, so that the light modules here
(grader.sandbox.layout) can be imported without moto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.sandbox.server import Sandbox

__all__ = ["Sandbox"]


def __getattr__(name: str) -> Any:
    if name == "Sandbox":
        from grader.sandbox.server import Sandbox

        return Sandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
