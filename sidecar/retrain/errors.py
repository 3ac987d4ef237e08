"""Why a retrain job could not start; ``sidecar.errors`` maps each to its HTTP answer."""

from __future__ import annotations


class JobError(Exception):
    """Base class: a retrain job could not start; ``job_id`` names the job concerned."""

    def __init__(self, message: str, job_id: str | None) -> None:
        super().__init__(message)
        self.job_id = job_id


class JobAlreadyRunning(JobError):
    """A job is already queued or running (single flight); ``job_id`` is that job."""


class JobLaunchFailed(JobError):
    """The training process could not be started; ``job_id`` is the job, now failed."""
