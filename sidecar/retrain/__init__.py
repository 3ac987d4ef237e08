"""Retraining: the job runner (``runner``), the training process it starts (``process``),
the parameters a caller may pass on (``params``) and the domain errors (``errors``).

Nothing here knows HTTP: ``sidecar.views.retrain`` is the endpoint, and ``sidecar.errors``
maps these errors to their answers.
"""
