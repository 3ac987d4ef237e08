"""Iris MLOps: the MLflow Project's code and what travels inside the served model.

Public surface: :class:`mlproject.config.Settings`. Nothing here has side effects at
import; engines, tracking URIs and folders are created by the entry points that need them.
"""

from mlproject.config import Settings

__all__ = ["Settings"]
