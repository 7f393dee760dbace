"""Generative Foundations' grader: isolated, bulk grading of the module's four lessons."""

__version__ = "0.1.0"
