"""The serving supervisor with real processes: HAProxy, MLflow's scoring app, a real registry.

The tracking server down: serving goes on, and a promotion made meanwhile (or whose
download failed) is served once it returns.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.load import Load
from tests.support.supervisor import (
    MODEL,
    read_state,
    wait_for,
)

from .conftest import SWITCH_DEADLINE
from .supervisor_support import (
    client_of,
    promote_both,
    serve_registry,
    set_alias,
)

pytestmark = pytest.mark.slow


REGISTRY_OUTAGE = 6.0  # seconds the tracking server stays down


# In the full run (-m full): 50 s; make test keeps the download-retry outage test below.
@pytest.mark.full
def test_a_promotion_while_the_tracking_server_is_down_is_served_once_it_returns(
    registry, start_supervisor, tmp_path
):
    promote_both(registry, "1")
    tracking = serve_registry(registry, tmp_path)
    supervisor = start_supervisor(tracking_uri=tracking.url)
    try:
        with Load(supervisor.url) as load:
            load.wait_for_count(20)
            tracking.stop()
            down = time.monotonic()
            set_alias(registry, "2")  # written to the registry's database meanwhile
            time.sleep(REGISTRY_OUTAGE)
            during = [o for o in load.succeeded() if o.sent > down]
            tracking = serve_registry(registry, tmp_path, port=tracking.port)
            back = time.monotonic()
            took = load.wait_for_version("2", back, SWITCH_DEADLINE)
            load.wait_for_count(len(load.results) + 20)
    finally:
        tracking.stop()
    # The old version served throughout the outage; the switch came once it returned.
    assert during and {o.version for o in during} == {"1"}
    assert load.failures() == []
    assert "registry unavailable, serving on" in supervisor.output()
    rows = supervisor.switches()
    assert (rows[-1]["outcome"], rows[-1]["to_version"]) == ("switched", "2")
    assert [r for r in rows if r["outcome"] == "refused"] == []
    print(
        f"{len(during)} answers from v1 during a {REGISTRY_OUTAGE:.0f}s outage; v2 served "
        f"{took:.1f}s after the tracking server returned"
    )


def test_a_switch_whose_download_failed_in_an_outage_is_retried_once_it_is_over(
    registry, start_supervisor
):
    promote_both(registry, "1")
    supervisor = start_supervisor()
    source = Path(
        client_of(registry).get_model_version_download_uri(MODEL, "2").removeprefix("file://")
    )
    hidden = source.with_name(source.name + ".unavailable")
    source.rename(hidden)  # the artifacts cannot be read: the download fails
    try:
        with Load(supervisor.url) as load:
            load.wait_for_count(20)
            set_alias(registry, "2")
            wait_for(
                lambda: (read_state(supervisor, "download_failed") or "").startswith("v2:"),
                60,
                "the failed download to show in state.json",
            )
            hidden.rename(source)
            back = time.monotonic()
            load.wait_for_version("2", back, SWITCH_DEADLINE)
        # An outage is not the version's fault: no refusal recorded, nothing to re-promote.
        assert not any(r["outcome"] == "refused" for r in supervisor.switches())
        assert read_state(supervisor, "download_failed") is None
    finally:
        if hidden.exists():
            hidden.rename(source)
        promote_both(registry, "1")
