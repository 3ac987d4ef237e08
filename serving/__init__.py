"""Serve the promoted registry version behind HAProxy and follow promotions live (mlflow#4039).

Map of the package:
  settings      ServingSettings, EdgeSettings and Follow, read once
  promotion     the alias and the Production stage, reconciled (moved last wins, mirrored)
  canary        @challenger and serving.canary_percent, read from the registry each poll
  artifacts     download a version into <run_dir>/models/v<version>-<hash>
  children      child processes: own session, die with the supervisor, stopped in order
  scoring       one scoring process (uvicorn --factory serving.asgi:create_app)
  asgi, guard   what a scoring process runs: MLflow's own app, guarded against 500s
  smoke         the smoke prediction a new version must pass before it gets traffic
  liveness      a /ping probe per scoring process (hung processes are replaced)
  edge_files    where HAProxy's files live (a folder its paths suit), written atomically
  edge_config   HAProxy's config (haproxy.cfg.tmpl), slot maps and /slots page
  haproxy       find, start and stop HAProxy; its access log
  runtime_api   HAProxy's admin socket
  edge          the backend's blue/green/canary server slots and weights, via runtime_api
  history       model_switches rows, iris_promotion_refused_total, <run_dir>/state.json
  launch        start a version's processes checked (or in the background), stop them
  upkeep        replace dead or hung scoring processes in their slots (either role)
  challenger    @challenger in the canary slots: start, admit, share, withdraw
  edge_keeper   restart a dead HAProxy and give its slots back their processes
  supervisor    the control loop: poll, switch, refuse, restart, stop
  cli           ``python -m serving``

Nothing here is imported by ``serving.asgi`` before the model loads except ``guard``.
"""
