"""Watch commands: ``logo-sim watch create | list | run | alerts | triage | delete``.

The CLI acts for one client at a time (``--client``, default ``admin``); lists made through the API belong to the
key that made them (issue 23's client keys build on ``store.py``'s ownership)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from loguru import logger
from tqdm import tqdm

from logo_similarity.commands.options import ConfigOpt, ModelOpt, command_settings
from logo_similarity.config import Settings
from logo_similarity.retrieval.filters import VIENNA_PREFIX
from logo_similarity.watch.exceptions import ExceptionRules
from logo_similarity.watch.store import STATES, WatchNotFound, WatchStore

ClientOpt = Annotated[str, typer.Option("--client", help="whose watch lists (the CLI's default: admin)")]
RootOpt = Annotated[Optional[Path], typer.Option("--root", help="watch folder (default: settings watch.root)")]
WatchArg = Annotated[str, typer.Argument(help="the watch list's name or id")]


def _settings(config: Path | None, root: Path | None) -> Settings:
    settings = command_settings(config)
    if root is None:
        return settings
    return settings.model_copy(update={"watch": settings.watch.model_copy(update={"root": str(root)})})


def _store(settings: Settings) -> WatchStore:
    return WatchStore(Path(settings.watch.root), settings.watch.lock_timeout_s)


def _watch(store: WatchStore, ref: str, client: str):
    try:
        return store.get(ref, None if client == "admin" else client)
    except WatchNotFound as exc:
        raise typer.BadParameter(str(exc), param_hint="WATCH") from None


def watch_create(
    name: Annotated[str, typer.Argument(help="a name for the list, unique per client")],
    marks: Annotated[Optional[Path], typer.Option("--marks", help="the marks: L3D .jsonl/.json, a folder of images, or "
                                                                  "a CSV (image, name, nice_classes, vienna_codes, owner, id)")] = None,
    index: Annotated[Optional[Path], typer.Option("--index", help="with --ids: the index holding the marks")] = None,
    ids: Annotated[Optional[str], typer.Option("--ids", help="ids of marks in --index to watch, comma-separated")] = None,
    register: Annotated[Optional[Path], typer.Option(
        "--register", help="the index the filings come from: a small list is compared in its whitened space (its "
                           "PCA; default: --index, else settings index.dir when it holds one)")] = None,
    min_score: Annotated[Optional[float], typer.Option(help="fused score an alert needs (default: settings)")] = None,
    min_conflict: Annotated[Optional[float], typer.Option(
        min=0, max=1, help="calibrated conflict probability an alert needs (default: settings watch.min_conflict)")] = None,
    own_marks: Annotated[bool, typer.Option("--own-marks/--no-own-marks",
                                            help="suppress filings by the watched mark's own applicant")] = True,
    exclude_owner: Annotated[Optional[list[str]], typer.Option(
        "--exclude-owner", help="suppress filings by this applicant (name or identifier); repeatable")] = None,
    exclude_vienna: Annotated[Optional[list[str]], typer.Option(
        "--exclude-vienna", help="suppress filings with a code under this Vienna prefix, e.g. 27.05; repeatable")] = None,
    client: ClientOpt = "admin",
    root: RootOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
) -> dict[str, Any]:
    """Make a watch list: its marks indexed as a register is (names read where none is given, figures), with its
    exception rules (suppressed pairs are kept and say which rule suppressed them)."""
    from logo_similarity.embeddings import load_embedder
    from logo_similarity.watch.marks import read_watch_marks
    from logo_similarity.watch.run import create_watch

    settings = _settings(config, root)
    store = _store(settings)
    records = read_watch_marks(marks) if marks is not None else []
    if ids is not None or index is not None:
        records += _indexed_marks(index, ids)
    if not records:
        raise typer.BadParameter("give the marks: --marks FILE, or --index DIR --ids 1,2,3", param_hint="--marks")
    bad = [p for p in exclude_vienna or () if not VIENNA_PREFIX.match(p)]
    if bad:
        raise typer.BadParameter(f"{bad[0]!r} is not a Vienna prefix like 27 or 27.05", param_hint="--exclude-vienna")
    rules = ExceptionRules(own_marks, tuple(exclude_owner or ()), tuple(exclude_vienna or ()))
    embedder = load_embedder(model, settings)
    projection = _register_projection(register, index, settings, embedder)
    try:
        watch = create_watch(store, name, client, records, embedder, settings, min_score, rules,
                             min_conflict=min_conflict, projection=projection)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return {"created": watch.name, "id": watch.id, "marks": watch.marks, "min_score": watch.min_score,
            "min_conflict": watch.min_conflict,
            "exceptions": rules.to_json()}


def _register_projection(register: Path | None, index: Path | None, settings: Settings, embedder):
    """The PCA a small list borrows: of ``register`` (an error when it has no index or another model's), else of
    ``index`` or the configured index, when they hold one built with this model (None otherwise, said in the log:
    the list is then compared in raw embeddings)."""
    from logo_similarity.retrieval.store.errors import IndexNotFoundError, SearchIndexError
    from logo_similarity.retrieval.store.index_io import read_projection

    root = register or index or Path(settings.index.dir)
    try:
        projection, spec = read_projection(root)
    except IndexNotFoundError:
        if register is not None:
            raise typer.BadParameter(f"{register} holds no index", param_hint="--register") from None
        return None
    except SearchIndexError as exc:
        raise typer.BadParameter(str(exc), param_hint="--register") from None
    diff = spec.mismatch(embedder.spec)
    if diff:
        if register is not None:
            raise typer.BadParameter(f"{register} was built with another model ({'; '.join(diff)})",
                                     param_hint="--register")
        logger.warning("{} was built with another model: the list does not borrow its PCA", root)
        return None
    return projection


def _indexed_marks(index: Path | None, ids: str | None) -> list:
    """The marks ``ids`` of the index at ``index`` (its live version), as watched marks."""
    from logo_similarity.watch.marks import item_record
    from logo_similarity.retrieval.store.metadata import read_metadata
    from logo_similarity.retrieval.store.versions import live_version

    if index is None or not ids:
        raise typer.BadParameter("--ids and --index go together", param_hint="--ids")
    wanted = [p.strip() for p in ids.split(",") if p.strip()]
    if not all(p.isdigit() for p in wanted):
        raise typer.BadParameter(f"ids are item numbers, got {wanted[:5]}", param_hint="--ids")
    metadata_file = live_version(index) / "metadata.sqlite"
    if not metadata_file.is_file():
        raise typer.BadParameter(f"{index} holds no index", param_hint="--index")
    metadata = read_metadata(metadata_file)
    unknown = [int(p) for p in wanted if int(p) not in metadata]
    if unknown:
        raise typer.BadParameter(f"{index} has no items {unknown[:5]}", param_hint="--ids")
    return [item_record(metadata[int(p)]) for p in wanted]


def watch_list(client: ClientOpt = "admin", root: RootOpt = None, config: ConfigOpt = None) -> list[dict[str, Any]]:
    """The watch lists (all of them for the admin), with their last run."""
    store = _store(_settings(config, root))
    out = []
    for watch in store.watches(None if client == "admin" else client):
        runs = store.runs(watch)
        out.append({"id": watch.id, "name": watch.name, "client": watch.client, "marks": watch.marks,
                    "min_score": watch.min_score, "min_conflict": watch.min_conflict, "runs": len(runs), "last_run": runs[-1] if runs else None})
    return out


def watch_run(
    name: WatchArg,
    filings: Annotated[Optional[Path], typer.Option("--filings", help="new filings: a folder of images, L3D metadata, "
                                                                      "or ST.66 XML (file, zip or folder)")] = None,
    index: Annotated[Optional[Path], typer.Option("--index", help="instead of --filings: the marks this index gained "
                                                                  "since --since")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="with --index: a version (default: the one this "
                                                                 "list's last run over the index reached)")] = None,
    client: ClientOpt = "admin",
    root: RootOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
) -> dict[str, Any]:
    """Compare the filings with the list's marks (resumable: run it again after an interruption; incremental:
    filings compared before with the same marks are not compared again)."""
    from logo_similarity.embeddings.loading import embedder_for_spec
    from logo_similarity.retrieval import SearchIndex
    from logo_similarity.watch.filings import VersionNotFound, items_since, read_filings
    from logo_similarity.watch.run import index_source, last_index_version, marks_folder, run_watch

    settings = _settings(config, root)
    store = _store(settings)
    watch = _watch(store, name, client)
    if (filings is None) == (index is None):
        raise typer.BadParameter("give one source: --filings, or --index (with --since)", param_hint="--filings")
    if since is not None and index is None:
        raise typer.BadParameter("--since goes with --index", param_hint="--since")
    if index is not None:
        since = since if since is not None else last_index_version(store, watch, index)
        try:
            records, live = items_since(index, since)
        except VersionNotFound as exc:
            raise typer.BadParameter(str(exc), param_hint="--since") from None
        unreadable, source = [], index_source(index, since, live)
    else:
        records, unreadable = read_filings(filings, settings)
        source = str(filings)
    embedder = embedder_for_spec(model, SearchIndex.load(marks_folder(store, watch)).spec, settings)
    with tqdm(total=len(records), desc=f"watch {watch.name}", unit="filing", disable=None) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        report = run_watch(store, watch, records, embedder, settings, source=source, unreadable=unreadable,
                           progress=progress)
    return {"watch": watch.name, **store.run(report.run_id, None), "images_reused": report.images_reused,
            "seconds": round(report.seconds, 1)}


def watch_alerts(
    name: WatchArg,
    state: Annotated[Optional[list[str]], typer.Option(
        "--state", help=f"only these states ({', '.join(STATES)}, suppressed); default: all but suppressed")] = None,
    client: ClientOpt = "admin",
    root: RootOpt = None,
    config: ConfigOpt = None,
) -> list[dict[str, Any]]:
    """The list's alerts, best first."""
    store = _store(_settings(config, root))
    bad = [s for s in state or () if s not in (*STATES, "suppressed")]
    if bad:
        raise typer.BadParameter(f"unknown state {bad[0]!r}; one of {', '.join(STATES)}", param_hint="--state")
    return store.alerts(_watch(store, name, client), *([tuple(state)] if state else []))


def watch_triage(
    name: WatchArg,
    alert: Annotated[int, typer.Argument(help="the alert's id (see watch alerts)")],
    state: Annotated[str, typer.Argument(help=f"one of {', '.join(STATES)}")],
    client: ClientOpt = "admin",
    root: RootOpt = None,
    config: ConfigOpt = None,
) -> dict[str, Any]:
    """Set an alert's state; kept across runs (a dismissed pair comes back only when its score rises)."""
    store = _store(_settings(config, root))
    try:
        return store.set_state(_watch(store, name, client), alert, state)
    except (ValueError, WatchNotFound) as exc:
        raise typer.BadParameter(str(exc)) from None


def watch_report(
    name: WatchArg,
    out: Annotated[Path, typer.Option("--out", help="folder for report.html, report.csv, report.json")],
    run: Annotated[Optional[int], typer.Option("--run", help="only the alerts this run found (default: all)")] = None,
    fmt: Annotated[Optional[list[str]], typer.Option("--format", help="html, csv, json (repeatable; default all)")] = None,
    client: ClientOpt = "admin",
    root: RootOpt = None,
    config: ConfigOpt = None,
) -> dict[str, str]:
    """The list's report: alerts by tier, then opposition deadline, then conflict score; HTML (printable), CSV
    and JSON with provenance."""
    from logo_similarity.reporting.watch_report import FORMATS
    from logo_similarity.watch.reports import watch_report as write

    bad = [f for f in fmt or () if f not in FORMATS]
    if bad:
        raise typer.BadParameter(f"unknown format {bad[0]!r}; one of {', '.join(FORMATS)}", param_hint="--format")
    settings = _settings(config, root)
    store = _store(settings)
    try:
        written = write(store, _watch(store, name, client), settings, out, run, formats=tuple(fmt or FORMATS))
    except WatchNotFound as exc:
        raise typer.BadParameter(str(exc), param_hint="--run") from None
    return {k: str(v) for k, v in written.items()}


def watch_delete(name: WatchArg, client: ClientOpt = "admin", root: RootOpt = None,
                 config: ConfigOpt = None) -> str:
    """Delete a watch list, its runs and alerts, and the folder of its marks."""
    from logo_similarity.watch.run import delete_watch

    settings = _settings(config, root)
    store = _store(settings)
    watch = _watch(store, name, client)
    delete_watch(store, watch, settings)
    return watch.name


__all__ = ["watch_alerts", "watch_create", "watch_delete", "watch_list", "watch_report", "watch_run", "watch_triage"]
