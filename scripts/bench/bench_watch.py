"""Watch benchmark (issue 23): a portfolio of marks watched against a week of filings, read as a reviewer reads
the run's report: from the top, all watched marks together.

    python scripts/bench/bench_watch.py --json runs/bench_watch.json \
        [--per-task 200] [--write-calibration logo_similarity/reranking/calibration.json] \
        [--reliability-png docs/calibration_reliability.png]

From ``../shared/logobench`` and ``../shared/logobench-composite``: the watched marks are the gallery marks relevant
to at least one cross_design, modified_copy, device or word query (``--per-task`` queries of each task, all by
default), named as the gallery names them, plus as many random other gallery marks; the filings are those query
images (no name given: read by OCR, as from a scanned application) plus as many unrelated gallery images (of no
watched brand). A pair (filing, watched mark) is a conflict when the benchmark lists the mark as relevant to the
query; pairs the benchmark ignores (a query's own source) are left out of every count.

The watch is created and run through ``watch/run.py`` with every filing's top ``watch.per_filing`` marks kept
(thresholds off), so the calibration sees low scores too. The calibration (isotonic, ``reranking/calibration.py``)
is fitted on the pairs of half of the filings (by a hash of the key) and its expected calibration error measured
on the other half; the tier and recall figures are on the held-out half, and on all filings beside them.

``recall_at_2x`` / ``recall_at_5x``: with T true conflicts among the filings, the share of them among the first 2T /
5T alerts of the whole run, best conflict score first. Then the resume check on a small list: the same run killed
with SIGKILL part-way through ``logo-sim watch run`` and run again gives identical alerts, and a further run over
the same filings adds none.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import typer
from loguru import logger

from logo_similarity.config import Settings, load_settings
from logo_similarity.datasets import LogoRecord
from logo_similarity.reranking.calibration import expected_calibration_error, fit_isotonic, fusion_key, reliability
from logo_similarity.evaluation.watch_bench import fit_half, jsonl_rows, report_metrics, select
from logo_similarity.utils.logging import configure_logging

BENCHES = {"lb": Path("../shared/logobench"), "lbc": Path("../shared/logobench-composite")}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def write_l3d(records: list[LogoRecord], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps({"id": r.key, "file": str(Path(r.path).absolute()), "text": r.text}) + "\n")


def resume_check(marks: list[LogoRecord], filings: list[LogoRecord], work: Path, settings: Settings) -> dict[str, Any]:
    """An uninterrupted run, then the same run killed part-way (SIGKILL to the CLI) and run again: identical
    alerts and none twice; then a third run over the same filings: no new alert."""
    from logo_similarity.watch.store import WatchStore

    write_l3d(marks, work / "marks.jsonl")
    write_l3d(filings, work / "filings.jsonl")
    env = {**os.environ, "LOGO_SIM__LOG_LEVEL": "WARNING", "LOGO_SIM__WATCH__CHUNK": "2",
           "LOGO_SIM__WATCH__MIN_CONFLICT": str(settings.watch.min_conflict)}
    cli = [sys.executable, "-m", "logo_similarity.cli"]
    root = ["--root", str(work / "root")]

    def cli_run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*cli, *args, *root], env=env, capture_output=True, text=True, timeout=1800, check=True)

    def alerts(name: str) -> list[tuple[int, str, float]]:
        store = WatchStore(work / "root")
        return sorted((a["mark_id"], a["filing_key"], round(a["score"], 5)) for a in store.alerts(store.get(name, None)))

    for name in ("whole", "killed"):
        cli_run("watch", "create", name, "--marks", str(work / "marks.jsonl"))
    cli_run("watch", "run", "whole", "--filings", str(work / "filings.jsonl"))
    proc = subprocess.Popen([*cli, "watch", "run", "killed", "--filings", str(work / "filings.jsonl"), *root],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed_after = 0
    while proc.poll() is None:
        with sqlite3.connect(work / "root" / "watch.sqlite") as db:
            killed_after = db.execute("SELECT COALESCE(MAX(compared), 0) FROM runs JOIN watches ON watches.id = "
                                      "runs.watch_id WHERE watches.name = 'killed'").fetchone()[0]
        if killed_after >= len(filings) // 3:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    was_killed = proc.returncode == -signal.SIGKILL
    cli_run("watch", "run", "killed", "--filings", str(work / "filings.jsonl"))
    cli_run("watch", "run", "killed", "--filings", str(work / "filings.jsonl"))
    store = WatchStore(work / "root")
    again = store.runs(store.get("killed", None))[-1]
    whole, resumed = alerts("whole"), alerts("killed")
    return {"marks": len(marks), "filings": len(filings), "killed": was_killed, "killed_after_filings": killed_after,
            "alerts": len(whole), "identical": was_killed and whole == resumed,
            "duplicates": len(resumed) - len(set((m, f) for m, f, _ in resumed)),
            "second_run_new_alerts": int(again["alerts_new"]), "second_run_compared": int(again["compared"])}


def watch_store(work: Path, settings: Settings):
    """(settings with the watch root in ``work``, the store there)."""
    from logo_similarity.watch.store import WatchStore

    settings = settings.model_copy(update={"watch": settings.watch.model_copy(update={"root": str(work / "main")})})
    return settings, WatchStore(work / "main")


def borrowed_projection(register: Path | None):
    """The PCA of ``register`` a list borrows, as ``watch create`` does with the served index (None: no register)."""
    if register is None:
        return None
    from logo_similarity.retrieval.store.index_io import read_projection

    return read_projection(register)[0]


def run_bench(watched: list[LogoRecord], filings: list[LogoRecord], work: Path, settings: Settings,
              register: Path | None = None) -> tuple[list[dict[str, Any]], dict]:
    """The watch created and run; (its pairs, written to ``work/pairs.jsonl``; the run's figures). ``register``: an
    index whose PCA the list borrows (as ``watch create --register`` does)."""
    from logo_similarity.embeddings import load_embedder
    from logo_similarity.watch.run import create_watch, run_watch

    settings, store = watch_store(work, settings)
    embedder = load_embedder(None, settings)
    start = time.perf_counter()
    projection = borrowed_projection(register)
    watch = create_watch(store, "bench", "bench", watched, embedder, settings, min_score=-1e9, min_conflict=0.0,
                         projection=projection)
    created = time.perf_counter() - start
    from logo_similarity.retrieval.store.versions import live_version
    from logo_similarity.watch.run import marks_folder

    space = "whitened" if (live_version(marks_folder(store, watch)) / "pca.npz").is_file() else "raw"
    rss_by_filings: list[tuple[int, float]] = []

    def progress(done: int, total: int) -> None:
        if not rss_by_filings or done - rss_by_filings[-1][0] >= max(1, total // 8) or done == total:
            rss_by_filings.append((done, round(current_rss_mb(), 1)))

    run = run_watch(store, watch, filings, embedder, settings, source="bench", progress=progress)
    total_s = time.perf_counter() - start
    rows = [{"filing": a["filing_key"], "mark": a["mark"]["key"], "score": a["score"]} for a in store.alerts(watch, None)]
    with open(work / "pairs.jsonl", "w", encoding="utf-8") as fh:  # to refit or re-tier without a rerun
        fh.writelines(json.dumps(row) + "\n" for row in rows)
    measured = {
        "throughput": {"marks": len(watched), "filings": len(filings), "seconds": round(total_s, 1),
                       "index_marks_seconds": round(created, 1), "run_seconds": round(run.seconds, 1),
                       "filings_per_s": round(len(filings) / run.seconds, 2), "peak_rss_mb": round(peak_rss_mb(), 1),
                       "rss_mb_by_filings": rss_by_filings},
        "run": {"compared": run.compared, "skipped": len(run.skipped), "state": run.state,
                "images_reused": run.images_reused},
        "space": space,
    }
    return rows, measured


def throughput(marks_n: int, filings_n: int, seed: int, work: Path, settings: Settings,
               register: Path | None = None) -> dict[str, Any]:
    """``marks_n`` random gallery marks watched against ``filings_n`` images (both benchmarks' query images, then
    gallery images not watched), end to end: the list indexed, the run, the report written. ``register``: an index
    whose PCA the list borrows, as ``watch create`` does with the served index (without: raw embeddings)."""
    from logo_similarity.embeddings import load_embedder
    from logo_similarity.watch.reports import watch_report
    from logo_similarity.watch.run import create_watch, run_watch

    rng = random.Random(seed)
    gallery, images = [], []
    for short, bench in BENCHES.items():
        gallery += [LogoRecord(f"{short}:{g['id']}", bench / g["file"], g.get("text"))
                    for g in jsonl_rows(bench / "gallery.jsonl")]
        seen = set()
        for q in jsonl_rows(bench / "queries.jsonl"):
            if q["file"] not in seen:
                seen.add(q["file"])
                images.append(LogoRecord(f"{short}:{q['file']}", bench / q["file"]))
    rng.shuffle(gallery)
    marks = gallery[:marks_n]
    filings = (images + [LogoRecord(f"{m.key}:f", m.path) for m in gallery[marks_n:]])[:filings_n]
    settings, store = watch_store(work, settings)
    embedder = load_embedder(None, settings)
    start = time.perf_counter()
    projection = borrowed_projection(register)
    watch = create_watch(store, "throughput", "bench", marks, embedder, settings, projection=projection)
    created = time.perf_counter() - start
    rss: list[tuple[int, float]] = []

    def progress(done: int, total: int) -> None:
        if not rss or done - rss[-1][0] >= max(1, total // 10) or done == total:
            rss.append((done, round(current_rss_mb(), 1)))

    run = run_watch(store, watch, filings, embedder, settings, source="bench", progress=progress)
    at = time.perf_counter()
    watch_report(store, watch, settings, work / "report", run.run_id)
    reported = time.perf_counter() - at
    return {"marks": len(marks), "filings": len(filings), "seconds": round(time.perf_counter() - start, 1),
            "index_marks_seconds": round(created, 1), "run_seconds": round(run.seconds, 1),
            "report_seconds": round(reported, 1), "filings_per_s": round(len(filings) / run.seconds, 2),
            "images_reused": run.images_reused,
            "alerts": store.count_alerts(watch), "min_conflict": settings.watch.min_conflict,
            "space": "raw" if projection is None else f"whitened (the PCA of {register})", "peak_rss_mb": round(peak_rss_mb(), 1), "rss_mb_by_filings": rss,
            "report_mb": round(sum(p.stat().st_size for p in (work / "report").iterdir()) / 2**20, 1)}


def main(
    report: Annotated[Optional[Path], typer.Option("--json", help="write the figures here")] = None,
    per_task: Annotated[Optional[int], typer.Option(help="queries per watched task (default: all)")] = None,
    seed: Annotated[int, typer.Option(help="sampling seed")] = 0,
    work: Annotated[Path, typer.Option(help="folder for the watch store (made afresh)")] = Path("runs/bench_watch"),
    write_calibration: Annotated[Optional[Path], typer.Option(help="write the fitted calibration here")] = None,
    reliability_png: Annotated[Optional[Path], typer.Option(help="reliability diagram (held-out half)")] = None,
    resume_filings: Annotated[int, typer.Option(help="filings of the resume check (0: skip it)")] = 24,
    config: Annotated[Optional[Path], typer.Option(help="settings overlay")] = None,
    pairs: Annotated[Optional[Path], typer.Option(help="no run: the pairs.jsonl of an earlier run (same --per-task "
                                                       "and --seed)")] = None,
    previous: Annotated[Optional[Path], typer.Option(help="with --pairs: that run's --json, for its run figures")] = None,
    space: Annotated[str, typer.Option(help="with --pairs: the embedding space of that run's list (whitened: it "
                                            "had its own PCA; raw: too few marks)")] = "whitened",
    register: Annotated[Optional[Path], typer.Option(
        help="an index whose PCA the list borrows when it is smaller than index.pca_min_items")] = None,
    throughput_of: Annotated[Optional[str], typer.Option(
        "--throughput", help="MARKSxFILINGS, e.g. 1000x10000: only the end-to-end throughput of that shape")] = None,
) -> None:
    configure_logging("INFO")
    settings = load_settings(config)
    if throughput_of is not None:
        if work.exists() and any(work.iterdir()):
            raise typer.BadParameter(f"{work} is not empty: give a new --work folder", param_hint="--work")
        marks_n, filings_n = (int(v) for v in throughput_of.lower().split("x"))
        text = json.dumps({"throughput": throughput(marks_n, filings_n, seed, work, settings, register)}, indent=2)
        typer.echo(text)
        if report is not None:
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(text + "\n")
        return
    sel = select(BENCHES, per_task, seed)
    logger.info("{} watched marks, {} filings ({} with a conflict)", len(sel.watched), len(sel.filings),
                sum(1 for f in sel.filings if sel.conflicts[f.key]))
    if pairs is not None:  # figures again from a run's pairs (a refit, other tiers), its run figures from --previous
        with open(pairs, encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        measured = {k: v for k, v in json.loads(previous.read_text()).items()
                    if k in ("throughput", "run", "resume", "second_run_new_alerts", "space")} if previous else {}
        measured.setdefault("space", space)
    else:
        if work.exists() and any(work.iterdir()):
            raise typer.BadParameter(f"{work} is not empty: give a new --work folder", param_hint="--work")
        rows, measured = run_bench(sel.watched, sel.filings, work, settings, register)
        if register is not None:
            measured["register"] = str(register)
    # the filings this selection holds that were compared (with --pairs: by that run)
    compared = {r["filing"] for r in rows} & {f.key for f in sel.filings}
    labelled = [(r, sel.label(r["filing"], r["mark"])) for r in rows if r["filing"] in compared]
    kept = [(r, y) for r, y in labelled if y is not None]
    scores = np.array([r["score"] for r, _ in kept], dtype=np.float64)
    labels = np.array([y for _, y in kept], dtype=np.float64)
    fit = np.array([fit_half(r["filing"]) for r, _ in kept], dtype=bool)
    r = settings.rerank
    calibration = replace(fit_isotonic(scores[fit], labels[fit]), fusion=fusion_key(r.weights, r.neutral, r.either),
                          provenance={"space": measured["space"],
                                      "fitted_by": "scripts/bench/bench_watch.py", "per_task": per_task, "seed": seed,
                                      "pairs": int(fit.sum()), "model": "packaged default (logo-lite0-moco)",
                                      "benchmarks": sorted(str(b) for b in BENCHES.values())})
    probs = calibration(scores)
    medium, high = settings.calibration.medium, settings.calibration.high
    conflicts_fit = sel.true_conflicts({f for f in compared if fit_half(f)})
    conflicts_held = sel.true_conflicts({f for f in compared if not fit_half(f)})
    held = ~fit
    out: dict[str, Any] = {
        "benchmarks": {k: str(v) for k, v in BENCHES.items()}, "per_task": per_task, "seed": seed,
        "watched_marks": len(sel.watched), "filings": len(compared),
        "filings_with_conflict": sum(1 for f in compared if sel.conflicts[f]),
        "pairs_left_out_as_source": len(labelled) - len(kept),
        "tiers": {"medium": medium, "high": high},
        **report_metrics(scores[held], labels[held], conflicts_held, probs[held], medium, high),
        "ece": expected_calibration_error(probs[held], labels[held]),
        "ece_fit_half": expected_calibration_error(probs[fit], labels[fit]),
        "all_filings": report_metrics(scores, labels, conflicts_fit + conflicts_held, probs, medium, high),
        "reliability_held_out": reliability(probs[held], labels[held]),
        "calibration_knots": len(calibration.x),
        "alerts_at_shipped_min_conflict": int((probs >= settings.watch.min_conflict).sum()),
        "conflicts_below_shipped_min_conflict": int(((probs < settings.watch.min_conflict) & (labels == 1)).sum()),
        **measured,
    }
    if write_calibration is not None:
        calibration.save(write_calibration)
        out["calibration_file"] = str(write_calibration)
    if reliability_png is not None:
        plot_reliability(out["reliability_held_out"], out["ece"], reliability_png)
    if resume_filings and pairs is None:
        queries = [f for f in sel.filings if sel.conflicts[f.key]][:resume_filings]
        marks = [m for m in sel.watched if any(sel.label(f.key, m.key) == 1 for f in queries)]
        out["resume"] = resume_check(marks, queries, work / "resume", settings)
        out["second_run_new_alerts"] = out["resume"]["second_run_new_alerts"]
    text = json.dumps(out, indent=2)
    typer.echo(text)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(text + "\n")


def plot_reliability(rows: list[dict[str, float]], ece: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    used = [r for r in rows if r["pairs"]]
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=120)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfectly calibrated")
    ax.plot([r["predicted"] for r in used], [r["observed"] for r in used], marker="o", label="conflict score")
    for r in used:
        ax.annotate(str(r["pairs"]), (r["predicted"], r["observed"]), fontsize=6, xytext=(3, -8),
                    textcoords="offset points")
    ax.set(xlabel="predicted conflict probability", ylabel="observed share of conflicts", xlim=(0, 1), ylim=(0, 1),
           title=f"Reliability, held-out pairs (ECE {ece:.3f})")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    typer.run(main)
