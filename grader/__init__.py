"""Automated grader for the Cognito lab (module 03): checks a student's AWS account and website."""

__version__ = "0.1.0"
