"""Why docker-compose.yml gives MLflow's backend store psycopg2, not psycopg 3.

MLflow 3.17's SQLAlchemy registry compares ``model_versions.version`` (an INTEGER column)
with the version as a string when a stage transition archives the other versions; psycopg 3
sends that string as VARCHAR and PostgreSQL refuses the comparison (mlflow#24592). Our gate
and supervisor mirror the alias to the Production stage with exactly that call. When the
first test starts failing, MLflow has fixed it: switch the Compose URL back to psycopg.
"""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

pytestmark = pytest.mark.postgres


def _transition_two_versions_to_production(store: SqlAlchemyStore) -> list[tuple[int, str]]:
    store.create_registered_model("iris-classifier")
    for _ in range(2):
        store.create_model_version("iris-classifier", "file:///nowhere", run_id=None)
    # Versions arrive as strings through the REST API, as they do here.
    store.transition_model_version_stage("iris-classifier", "1", "Production", True)
    store.transition_model_version_stage("iris-classifier", "2", "Production", True)
    versions = store.search_model_versions("name='iris-classifier'")
    return sorted((int(v.version), v.current_stage) for v in versions)


def test_mlflow_registry_on_psycopg3_still_cannot_archive_on_a_stage_transition(postgres_url):
    store = SqlAlchemyStore(postgres_url)  # postgresql+psycopg://
    try:
        with pytest.raises(MlflowException, match="integer <> character varying"):
            _transition_two_versions_to_production(store)
    finally:
        store.engine.dispose()


def test_mlflow_registry_on_psycopg2_archives_the_previous_production_version(postgres_url):
    store = SqlAlchemyStore(postgres_url.replace("postgresql+psycopg://", "postgresql+psycopg2://"))
    try:
        assert _transition_two_versions_to_production(store) == [
            (1, "Archived"),
            (2, "Production"),
        ]
    finally:
        store.engine.dispose()
