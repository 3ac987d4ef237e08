"""How much work the store does for each sidecar request: a count, not a clock.

``record(app, paths)`` asks a sidecar app (Flask test client) for each path and keeps every
statement its engine ran; ``work(engine, statement, parameters)`` runs one again and
counts what the database did for it:

- SQLite: virtual-machine instructions (``set_progress_handler`` every ``STEP`` of them),
  which grow with every row or index entry a statement visits;
- PostgreSQL: rows every plan node produced or filtered out, times its loops, from
  ``EXPLAIN (ANALYZE, FORMAT JSON)``.

Either is the same on a loaded machine as on a quiet one, so a test can compare the work
on a small and a large store without a wall-clock limit.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

STEP = 100
_REMOVED = (
    "Rows Removed by Filter",
    "Rows Removed by Join Filter",
    "Rows Removed by Index Recheck",
)


def record(app, paths: list[str]) -> dict[str, list[tuple[str, Any]]]:
    """The statements (SQL, parameters) each GET in ``paths`` ran, by path; all must be 200."""
    engine = app.extensions["sidecar"].engine
    found: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    current: list[str] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if current and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            found[current[0]].append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        client = app.test_client()
        for path in paths:
            current[:] = [path]
            response = client.get(path)
            assert response.status_code == 200, (path, response.get_data(as_text=True)[:500])
    finally:
        current.clear()
        event.remove(engine, "before_cursor_execute", keep)
    return dict(found)


def work(engine: sa.Engine, statement: str, parameters: Any) -> int:
    """What the database does to answer ``statement`` once (see the module's docstring)."""
    if engine.dialect.name == "sqlite":
        return _sqlite_steps(engine, statement, parameters)
    with engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
        ).scalar_one()
        conn.rollback()
    return _rows_touched(plan[0]["Plan"])


def request_work(engine: sa.Engine, statements: list[tuple[str, Any]]) -> int:
    """The work of every statement one request ran."""
    return sum(work(engine, statement, parameters) for statement, parameters in statements)


def _sqlite_steps(engine: sa.Engine, statement: str, parameters: Any) -> int:
    steps = [0]

    def count() -> int:
        steps[0] += STEP
        return 0  # 0: carry on

    raw = engine.raw_connection()
    try:
        raw.driver_connection.set_progress_handler(count, STEP)
        cursor = raw.cursor()
        cursor.execute(statement, parameters)
        cursor.fetchall()
        cursor.close()
        raw.driver_connection.set_progress_handler(None, STEP)
        raw.rollback()
    finally:
        raw.close()
    return steps[0]


def _rows_touched(node: dict) -> int:
    rows = node.get("Actual Rows", 0) + sum(node.get(key, 0) for key in _REMOVED)
    total = int(rows * max(node.get("Actual Loops", 1), 1))
    return total + sum(_rows_touched(child) for child in node.get("Plans", []))
