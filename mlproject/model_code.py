"""Models-from-code entry: MLflow runs this file to build the served model object.

Logging a ``PythonModel`` instance whose class lives in a project module pickles it by
reference, and the model then fails to load anywhere the project is not installed; a code
file plus ``code_paths=["mlproject"]`` makes the model self-contained.
"""

import mlflow

from mlproject.pyfunc import IrisClassifier

mlflow.models.set_model(IrisClassifier())
