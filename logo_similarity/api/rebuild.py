"""Index rebuilds in a separate process, so they never compete with searches for the interpreter lock.

Measured on the 10k-item benchmark index under 8 saturating clients: run on a thread of the server, a rebuild
stalled searches for up to 1.2 s at a time (p99 944 ms over the run), since its Python parts hold the GIL.
In a spawned process the p99 was 258 ms at niceness +5 (rebuild 110 s under that load, 20 s idle) and
220 ms at +10 (rebuild 230 s); +5 is the default (``api.job_nice``). The process reports progress and its outcome on a queue; the service switches to
the new version when it reports success.
"""

from __future__ import annotations

import multiprocessing
import pickle
import tempfile
import queue as queue_module
from collections.abc import Callable
from pathlib import Path
from typing import Any

from logo_similarity.datasets.records import record_from_metadata


class RebuildError(RuntimeError):
    pass


def _worker(settings_json: dict, root: str, spec: dict, model: str | None, items_file: str,
            id_high_water: int, out) -> None:
    """Child process: embed (cache first), build, save and switch ``root/current``; report on ``out``.

    It inherits the niceness of the job thread that started it (``api.job_nice``).
    """
    try:
        from logo_similarity.config import Settings
        from logo_similarity.embeddings.loading import embedder_for_spec
        from logo_similarity.embeddings.spec import ModelSpec
        from logo_similarity.retrieval import build_with_settings, write_rejects
        from logo_similarity.utils.logging import configure_logging

        with open(items_file, "rb") as fh:
            items: list[tuple[int, dict]] = pickle.load(fh)
        settings = Settings.model_validate(settings_json)
        configure_logging(settings.log_level)
        embedder = embedder_for_spec(model, ModelSpec.from_dict(spec), settings)
        ids = [i for i, _ in items]
        records = [record_from_metadata(meta) for _, meta in items]
        folder = Path(root)
        built, report = build_with_settings(
            records, embedder, settings, cache=folder.with_name(f".{folder.name}.embeddings.sqlite"), ids=ids,
            progress=lambda done, total: out.put(("progress", done, total)),
        )
        if report.rejects:
            first = report.rejects[0]
            out.put(("error", f"{len(report.rejects)} items could not be re-read (first: {first['file']}: "
                              f"{first['message']}); the live index is unchanged"))
            return
        built.id_high_water = max(built.id_high_water, id_high_water)
        version = built.save(folder)
        write_rejects(report.rejects, version / "rejects.jsonl")
        out.put(("done", {"items": report.items, "seconds": round(report.seconds, 3),
                          "reused_embeddings": report.cached, "index_type": built.factory}))
    except Exception as exc:  # reported to the parent, which fails the job with this message
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def rebuild_in_process(settings_json: dict, root: Path, spec: dict, model: str | None,
                       items: list[tuple[int, dict]], id_high_water: int,
                       progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run the rebuild in a spawned process; returns its result or raises RebuildError with its message."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    # The items go through a file, not the process arguments: spawn writes the arguments into a pipe whose read
    # end the parent keeps open, so a child dying at start-up would block that write (and the job) forever.
    with tempfile.NamedTemporaryFile("wb", prefix=".rebuild-items-", suffix=".pkl", dir=root.parent,
                                     delete=False) as fh:
        pickle.dump(items, fh, protocol=pickle.HIGHEST_PROTOCOL)
    items_file = Path(fh.name)
    proc = ctx.Process(target=_worker, args=(settings_json, str(root), spec, model, str(items_file), id_high_water, out),
                       name="logo-sim-rebuild")
    try:
        proc.start()
        while True:
            try:
                message = out.get(timeout=1.0)
            except queue_module.Empty:
                if proc.is_alive():
                    continue
                try:  # what it sent just before exiting may still be on its way
                    message = out.get(timeout=2.0)
                except queue_module.Empty:
                    raise RebuildError(f"the rebuild process exited (code {proc.exitcode}) without a result; "
                                       "the live index is unchanged") from None
            if message[0] == "progress" and progress is not None:
                progress(message[1], message[2])
            elif message[0] == "done":
                return message[1]
            elif message[0] == "error":
                raise RebuildError(message[1])
    finally:
        if proc.pid is not None:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
        out.close()
        items_file.unlink(missing_ok=True)
