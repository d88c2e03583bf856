"""Automated grader for the Cognito lab (module 03): checks a student's AWS account and website."""

__version__ = "0.1.0"

USER_AGENT = f"vehicle-lab-grader/{__version__}"
"""How the grader's AWS calls and HTTP reads name themselves (its browser marks its user agent too)."""
