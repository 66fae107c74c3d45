"""``logo-sim``: the functions of ``logo_similarity.commands`` as commands, with their results rendered.

User errors (bad image, bad dataset, missing, mismatched or corrupt index, missing weights, bad settings, a full
disk) end with a one-line message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from logo_similarity import commands
from logo_similarity.classification import ViennaFileError
from logo_similarity.config.settings import ConfigError
from logo_similarity.datasets import DatasetError
from logo_similarity.embeddings.loading import ModelNotFoundError
from logo_similarity.embeddings.errors import PretrainedWeightsError
from logo_similarity.synthetic import FontNotFoundError
from logo_similarity.preprocessing import ImageLoadError
from logo_similarity.text.errors import OcrModelError
from logo_similarity.reporting.table import metrics_table, results_table
from logo_similarity.indexing.chunks import WorkFolderMismatchError
from logo_similarity.indexing.edits import EditError, UnknownItemError
from logo_similarity.indexing.ray_engine import RayUnavailableError
from logo_similarity.retrieval.index import SearchIndexError
from logo_similarity.utils.fs import is_disk_full

USER_ERRORS = (
    ConfigError, DatasetError, FontNotFoundError, ImageLoadError, SearchIndexError, ModelNotFoundError,
    OcrModelError, PretrainedWeightsError, RayUnavailableError, WorkFolderMismatchError, EditError, UnknownItemError,
    ViennaFileError,
)

app = typer.Typer(
    name="logo-sim",
    help="Search engine for trademark logos.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()


def _show_prepare(report) -> None:
    console.print(f"{report.kept} images readable, {len(report.rejects)} rejected -> {report.metadata}")
    for reject in report.rejects[:10]:
        console.print(f"  rejected {reject['file']}: {reject['reason']}")


def _show_mask(report) -> None:
    console.print(
        f"masked {report.images} images ({report.with_text} had text), {len(report.rejects)} rejected "
        f"-> {report.metadata}"
    )


def _show_index(report) -> None:
    reused = f", {report.cached} embeddings reused" if report.cached else ""
    console.print(
        f"indexed [bold]{report.items}[/] images, {len(report.rejects)} rejected{reused}, "
        f"{report.seconds:.1f}s ({report.images_per_s:.1f} img/s)"
    )


def _show_update(report) -> None:
    if report.added:
        console.print(f"added {len(report.added)} items (ids {report.added[0]}..{report.added[-1]}), "
                      f"{len(report.rejects)} rejected -> {report.version}")
    else:
        console.print(f"removed {report.removed} items -> {report.version}")


def _show_search(results) -> None:
    if results and hasattr(results[0], "path"):  # a batch: one line per query
        failed = [q for q in results if q.error]
        for q in results:
            top = q.results[0] if q.results else None
            line = f"error: {q.error}" if q.error else (f"{top.key} ({top.score:.3f})" if top else "no results")
            console.print(f"{q.path}: {line}")
        console.print(f"searched {len(results) - len(failed)} images, {len(failed)} unreadable")
        return
    console.print(results_table(results))


def _show_eval(report: dict[str, Any]) -> None:
    console.print(metrics_table(report))
    if report.get("by_style"):
        console.print(metrics_table({"tasks": report["by_style"]}, title="by style: composite -> query"))
    if "latency_ms" in report:
        lat = report["latency_ms"]
        console.print(f"query latency (end to end, 1 query): p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms")
    if report.get("timings_ms"):
        split = ", ".join(f"{stage} {t['p50']:.1f}" for stage, t in report["timings_ms"].items())
        console.print(f"  per stage, p50 ms: {split}")


def _show_export(path) -> None:
    weights = sorted(path.parent.glob(path.name + ".*.data"))  # the export's external weights (onnx_export.py)
    extra = [p.name for p in (*weights, path.with_name(path.stem + ".fp16.onnx")) if p.exists()]
    console.print(f"wrote {path}" + (f" (+ {', '.join(extra)})" if extra else ""))


def _show_demo(report) -> None:
    for query in report.reports:
        console.print(results_table(query.results, title=query.title))
    console.print(
        f"{report.found_at_1}/{len(report.reports)} modified copies found their original at rank 1 "
        f"in a gallery of {report.gallery_size}.\nResult sheets: {report.html} and {report.png}"
    )


def _show_train_data(summary) -> None:
    console.print(f"rendered {summary['images']} training logos ({summary['invisible']} invisible, "
                  f"{summary['near_copies_dropped']} near-copies of the benchmark dropped)")


def _show_train(report) -> None:
    best = f"best step {report.best_step}" + (f", validation mean mAP@100 {report.best_score:.4f}"
                                               if report.best_score is not None else "")
    console.print(f"trained {report.steps} steps in {report.seconds:.0f}s ({report.images_per_s:.1f} img/s), "
                  f"{best}{', stopped early' if report.stopped_early else ''} -> {report.out / 'best.pt'}")


def _register(fn: Callable, name: str, render: Callable[[Any], None], on: typer.Typer = app) -> None:
    @functools.wraps(fn)
    def command(*args, **kwargs):
        render(fn(*args, **kwargs))

    on.command(name)(command)


_register(commands.prepare, "prepare", _show_prepare)
_register(commands.mask, "mask", _show_mask)
_register(commands.index, "index", _show_index)
_register(commands.add, "add", _show_update)
_register(commands.delete, "delete", _show_update)
_register(commands.rollback, "rollback", lambda version: console.print(f"live version is now {version.name}"))
_register(commands.search, "search", _show_search)
_register(commands.evaluate, "eval", _show_eval)
_register(commands.export, "export", _show_export)
_register(commands.demo, "demo", _show_demo)
_register(commands.serve, "serve", lambda _: None)
_register(commands.train_data, "train-data", _show_train_data)
_register(commands.train, "train", _show_train)

dataset_app = typer.Typer(help="Build datasets from trademark registers.", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")


def _show_dataset(report) -> None:
    reasons = ", ".join(f"{k} {v}" for k, v in report.rejects.most_common()) or "none"
    console.print(f"{report.records} records -> {report.items} images ({report.records_per_s:.0f} records/s); "
                  f"rejects: {reasons}")
    if report.vienna_unknown:
        codes = ", ".join(f"{code} x{n}" for code, n in report.vienna_unknown.most_common(5))
        console.print(f"[yellow]kept with Vienna codes the table does not know (flagged vienna_unknown):[/] {codes}")


names_app = typer.Typer(help="Review the names OCR read from unnamed marks.", no_args_is_help=True)
app.add_typer(names_app, name="names")


def _show_edits(report) -> None:
    version = report.version.name if report.version else "unchanged (no new version)"
    console.print(f"{len(report.changed)} changed, {len(report.unchanged)} already so; live version: {version}")


@names_app.command("review")
@functools.wraps(commands.names_review)
def _names_review(*args, **kwargs):
    sheet = commands.names_review(*args, **kwargs)
    console.print(f"{sheet.rows} names to review: {sheet.csv} (fill in 'name'), {sheet.html} (thumbnails)")


@names_app.command("apply")
@functools.wraps(commands.names_apply)
def _names_apply(*args, **kwargs):
    _show_edits(commands.names_apply(*args, **kwargs))


_register(commands.edit, "edit", _show_edits)


@dataset_app.command("build")
@functools.wraps(commands.dataset_build)
def _dataset_build(*args, **kwargs):
    _show_dataset(commands.dataset_build(*args, **kwargs))


watch_app = typer.Typer(help="Watch lists: your marks checked against new filings.", no_args_is_help=True)
app.add_typer(watch_app, name="watch")


def _show_json(value) -> None:
    console.print_json(data=value)


def _show_watch_run(run: dict[str, Any]) -> None:
    console.print(f"watch {run['watch']!r} run {run['id']} {run['state']}: {run['filings']} filings, {run['compared']} "
                  f"compared, {run['already']} compared before, {run['skipped']} skipped, {run['alerts_new']} new "
                  f"alerts, {run['suppressed']} pairs suppressed by exception rules ({run['seconds']} s)")
    for skip in run["skipped_filings"][:10]:
        console.print(f"  skipped {skip['filing']}: {skip['reason']} ({skip['message']})")


def _show_alerts(alerts: list[dict[str, Any]]) -> None:
    for a in alerts:
        why = f" - {a['suppressed_by']}" if a.get("suppressed_by") else ""
        conflict = "" if a.get("conflict_score") is None else f"{a['tier']} {a['conflict_score']:.2f} "
        deadline = f" oppose by {a['filing']['opposition_deadline']}" if a["filing"].get("opposition_deadline") else ""
        console.print(f"#{a['id']} {conflict}(score {a['score']:.3f}) [{a['state']}] {a['mark']['key']} <- "
                      f"{a['filing']['key']} ({a['filing'].get('name') or '-'}){deadline}{why}")
    console.print(f"{len(alerts)} alerts")


_register(commands.watch_create, "create", _show_json, watch_app)
_register(commands.watch_list, "list", _show_json, watch_app)
_register(commands.watch_run, "run", _show_watch_run, watch_app)
_register(commands.watch_alerts, "alerts", _show_alerts, watch_app)
_register(commands.watch_triage, "triage", lambda a: console.print(f"alert {a['id']} is now {a['state']}"), watch_app)
_register(commands.watch_report, "report", _show_json, watch_app)
_register(commands.watch_delete, "delete", lambda name: console.print(f"deleted watch list {name!r}"), watch_app)


keys_app = typer.Typer(help="Client keys of the service (the admin key is api.api_key).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _show_new_key(made: dict[str, str]) -> None:
    console.print(f"key of client {made['client']!r} (role {made['role']}); shown this once, keep it safe:")
    console.print(made["key"], highlight=False, soft_wrap=True)


_register(commands.keys_create, "create", _show_new_key, keys_app)
_register(commands.keys_list, "list", _show_json, keys_app)
_register(commands.keys_revoke, "revoke", lambda name: console.print(f"revoked the key of {name!r}"), keys_app)


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv)
    except USER_ERRORS as exc:
        Console(stderr=True).print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        Console(stderr=True).print(
            f"[red]error:[/] disk full, or the disk failed ({exc}). Nothing half-written was made live; free space and run the same "
            "command again (an interrupted build resumes from its finished chunks).", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
