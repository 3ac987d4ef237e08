"""Batch scoring on Spark: a CSV or Parquet file in, the pyfunc's records out as Parquet.

    python -m mlproject.batch --input data/iris.csv --output .run/batch/out

Modules, one job each:
  settings   BatchSettings: the job's options, read once from the command line and env
  reading    open the input (CSV or Parquet) and its SHA-256 digest
  checks     the pyfunc's validation rules as Spark expressions, row by row
  numbering  each row's position in its file, for the errors output and the predictions
  job        the Spark session, scoring with mlflow.pyfunc.spark_udf, writing both outputs
  lineage    the one MLflow run that records what was scored, by which version, from what
  __main__   the CLI (also what the MLproject entry point ``batch_score`` runs)

Nothing here is imported by the served model: pyspark is only needed for batch scoring.
"""
