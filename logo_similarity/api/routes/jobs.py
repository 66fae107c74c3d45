"""``GET /jobs``, ``GET /jobs/{id}`` (read) and ``DELETE /jobs/{id}`` (a write: needs the key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from logo_similarity.api import schemas
from logo_similarity.api.deps import Caller, Jobs
from logo_similarity.api.errors import NotFound, WriteConflict

reads = APIRouter(tags=["index"], responses=schemas.ERRORS)
writes = APIRouter(tags=["index"], responses=schemas.ERRORS)


def job_out(job) -> schemas.JobOut:
    return schemas.JobOut(**{f: getattr(job, f) for f in schemas.JobOut.model_fields})


def visible(job, who) -> bool:
    """A client sees its own jobs (its watch runs) only; the admin, and a service without keys, all of them."""
    return who is None or who.admin or job.params.get("client") == who.name


@reads.get("/jobs", response_model=list[schemas.JobOut])
def list_jobs(jobs: Jobs, who: Caller, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[schemas.JobOut]:
    """The newest jobs first (they survive server restarts); a client key sees its own."""
    return [job_out(job) for job in jobs.list(10**6) if visible(job, who)][:limit]


@reads.get("/jobs/{job_id}", response_model=schemas.JobOut)
def get_job(jobs: Jobs, who: Caller, job_id: str) -> schemas.JobOut:
    job = jobs.get(job_id)
    if job is None or not visible(job, who):
        raise NotFound(f"no job {job_id!r}", reason="unknown_job")
    return job_out(job)


@writes.delete("/jobs/{job_id}", response_model=schemas.JobOut, status_code=202)
def cancel_job(jobs: Jobs, job_id: str) -> schemas.JobOut:
    """Cancel a pending or running job (a rebuild's process is stopped; the live index stays as it was)."""
    job, applied = jobs.cancel(job_id)
    if job is None:
        raise NotFound(f"no job {job_id!r}", reason="unknown_job")
    if not applied:
        raise WriteConflict(f"job {job_id} has already finished ({job.state})", reason="job_finished")
    return job_out(job)
