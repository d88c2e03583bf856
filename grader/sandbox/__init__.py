"""The embedded AWS stand-in: moto's server in-process, with the fixes a faithful lab needs."""

from grader.sandbox.server import Sandbox

__all__ = ["Sandbox"]
