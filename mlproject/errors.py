"""The project's domain errors, one tree, translated to HTTP or MLflow errors at the edge.

IrisError
 +-- InvalidInputError   a scoring request the model refuses (reason, column, row)
 +-- TrainingError       the training run cannot go on (bad data, bad parameters)
"""

from __future__ import annotations


class IrisError(Exception):
    """Base class of every error the project raises on purpose."""


class InvalidInputError(IrisError):
    """A batch the model refuses before it reaches the estimator.

    Attributes:
        reason: a short machine-readable code (``missing_column``, ``not_a_number``, ...),
            used as the ``reason`` label of ``iris_prediction_errors_total``.
        field: the first column at fault, when there is one.
        row: the first row at fault (0-based position in the batch), when there is one.
    """

    def __init__(self, reason: str, message: str, field: str | None = None, row: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.field = field
        self.row = row


class TrainingError(IrisError):
    """Training cannot go on; the message says why."""
