"""The shadow scorer's loop: follow the trial, score new log rows, decide, act.

Nothing here is on the request path: the scoring processes log as always, and this
process reads the log afterwards. A challenger that cannot be loaded, a registry or store
outage, each only delays shadow rows (the cursor stays where it was); the lag shows it.
"""

from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa
from mlflow import MlflowClient
from sqlalchemy.exc import SQLAlchemyError

from mlproject.logstore import contract

from . import actions, decisions, shadow_store
from .evidence import TrialPolicy, evidence
from .horizon import SettledHorizon
from .models import ModelCache
from .pairs import pair_counts
from .scoring import shadow_rows
from .settings import ScorerSettings
from .trial import Trial, current_trial

logger = logging.getLogger(__name__)


class ShadowScorer:
    """One pass at a time (``step``), or ``run`` until ``stop`` is set."""

    def __init__(
        self,
        settings: ScorerSettings,
        engine: sa.Engine,
        client: MlflowClient,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.client = client
        self.stop = stop or threading.Event()
        self.models = ModelCache(settings.project.model_name)
        self.policy = TrialPolicy(alpha=settings.alpha, margin=settings.margin)
        self._horizon = SettledHorizon(settings.settle_seconds)
        self._trial: tuple[float, Trial | None] | None = None
        self._decided_at = 0.0

    def run(self) -> None:
        """Score and decide until ``stop`` is set; back off on errors, never exit on them."""
        logger.info("shadow scorer for %s started", self.settings.project.model_name)
        while not self.stop.is_set():
            try:
                busy = self.step()
            except (SQLAlchemyError, OSError) as exc:
                logger.warning("shadow scorer pass failed, retrying: %s", _first_line(exc))
                busy = False
            except Exception:  # noqa: BLE001 - a registry or model error must not end the loop
                logger.exception("shadow scorer pass failed, retrying")
                busy = False
            if not busy:
                self.stop.wait(self.settings.poll_seconds)
        logger.info("shadow scorer stopped")

    def step(self) -> bool:
        """One batch (if any) and, at most once per poll interval, the decision.

        Returns True when rows were scored (the caller goes on without pausing).
        """
        trial = self.trial()
        if trial is None:
            self.models.keep_only(set())
            return False
        self.models.keep_only({trial.champion, trial.challenger})
        scored = self.score_batch(trial)
        if not scored or time.monotonic() - self._decided_at >= self.settings.poll_seconds:
            self.decide(trial)
            self._decided_at = time.monotonic()
        return scored

    def trial(self) -> Trial | None:
        """The registry's trial, looked up at most once per poll interval."""
        now = time.monotonic()
        if self._trial is None or now - self._trial[0] >= self.settings.poll_seconds:
            self._trial = (now, current_trial(self.client, self.settings.project.model_name))
        return self._trial[1]

    def score_batch(self, trial: Trial) -> bool:
        """Score the next batch after the cursor and commit it with the cursor's move."""
        cursor = shadow_store.start_cursor(self.engine, trial)
        horizon = self._horizon.observe(shadow_store.newest_seq(self.engine))
        rows = shadow_store.read_batch(
            self.engine, trial.model_name, cursor, horizon, self.settings.batch_rows
        )
        if not rows:
            return False
        try:
            shadows = shadow_rows(rows, trial, self.models)
        except Exception as exc:  # noqa: BLE001 - a version that cannot load only delays rows
            logger.warning("cannot shadow-score for %s yet: %s", trial.key, _first_line(exc))
            return False
        committed = shadow_store.commit_batch(self.engine, trial, cursor, rows[-1].seq, shadows)
        if not committed:
            logger.info("cursor of %s moved under us; re-reading", trial.key)
        return True

    def decide(self, trial: Trial) -> None:
        """Recompute the evidence; record (and with auto-promote, act on) a new decision."""
        with self.engine.connect() as conn:
            counts = pair_counts(conn, trial)
            previous = decisions.latest_decision(conn, trial)
        found = {
            **evidence(counts, self.policy),
            "champion_version": trial.champion,
            "challenger_version": trial.challenger,
        }
        decision = decisions.settled(previous, found["decision"])
        if previous is not None and previous["decision"] == decision:
            return
        action = None
        if self.settings.auto_promote:
            action = actions.act(self.client, trial, decision)
        if decision != contract.COLLECTING:
            try:
                actions.write_on_version(self.client, trial, decision, found, action)
            except Exception as exc:  # noqa: BLE001 - the decision stands without its note
                logger.warning("could not write the evidence on the version: %s", exc)
        reason = actions.describe(trial, decision, found, action)
        decisions.record_decision(self.engine, trial, decision, found, action, reason)
        logger.info("trial %s: %s (action: %s)", trial.key, decision, action or "advice only")
        if action == contract.PROMOTED:
            self._trial = None  # the aliases moved: look the trial up afresh


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
