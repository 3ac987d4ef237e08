"""Serve the promoted registry version and follow promotions live (GitHub mlflow#4039).

Map of the package:
  settings    ServingSettings and Follow (alias:<name> or stage:<name>), read once
  promoted    which version the registry promotes now
  artifacts   download a version into <run_dir>/models/v<version>
  scoring     one MLflow scoring server process (uvicorn mlflow...scoring_server.app:app)
  smoke       the smoke prediction a new version must pass before it gets traffic
  router      the active scoring process and the requests in flight to each one
  proxy       the public port: threaded HTTP/1.1 reverse proxy with retry on failed connects
  history     model_switches rows, iris_promotion_refused_total, <run_dir>/state.json
  supervisor  the control loop: poll, switch, refuse, restart, stop
  cli         ``python -m serving``
"""
