"""Automated grader for the Cognito lab (module 03): checks a student's AWS account and website."""

__version__ = "0.1.0"

GRADER_MARK = "vehicle-lab-grader"
"""The grader's mark: its browser's user agent ends with it, its HTTP reads send it as theirs, and a
CloudTrail record whose user agent holds it is the grader's own call, never the student's
(:attr:`grader.trail.AuthEvent.by_grader`). Read where it is used, never copied at import."""

USER_AGENT = f"{GRADER_MARK}/{__version__}"
"""How the grader's AWS calls name themselves (grader/aws.py)."""
