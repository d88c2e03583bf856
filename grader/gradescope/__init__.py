"""Gradescope: the autograder's entry point and the autograder zip.

Gradescope runs an autograder in a container of its own (Ubuntu) for each submission: the zip's
`setup.sh` runs once, as root, when the container's image is built; `run_autograder` runs for each
submission, in /autograder, with the student's files in /autograder/submission, and Gradescope
reads /autograder/results/results.json (what `run_autograder` prints is shown to instructors only).

- :mod:`grader.gradescope.autograder`: `grader gradescope` (run_autograder).
- :mod:`grader.gradescope.package`: `grader gradescope-package` (build_package).
"""

from grader.gradescope.autograder import find_credentials, run_autograder
from grader.gradescope.package import build_package, project_source

__all__ = ["build_package", "find_credentials", "project_source", "run_autograder"]
