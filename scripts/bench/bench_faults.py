"""Fault benchmark: inject each fault the index must survive and print a table (fault, what was checked, result).

    python -m scripts.bench.bench_faults --json runs/bench_faults.json
    python -m scripts.bench.bench_faults --kills 3            # quicker

An index of --items rendered logos (default model, as `logo-sim index` builds it, PCA on) is made in a scratch
folder; then, each on a fresh copy where it matters:
- kill -9 of `logo-sim serve` during an add, a delete, a bulk add and a rebuild, --kills times each at random
  moments over the time the write takes uninterrupted (measured first): the index must load whole (vectors =
  metadata = local features), hold the old or the new state, and after a restart interrupted jobs must complete
  exactly once; rebuild processes must die with the server;
- a full disk (RLIMIT_FSIZE in the child) during `logo-sim index`, during `logo-sim add` and during an API add:
  a clear error (exit 2 / HTTP 507), no half-written version live, the next run completes (a build resumes);
- a corrupt index.faiss, metadata.sqlite or pca.npz in the live version: refused at load naming the file, the
  server serves the previous version with a warning, `logo-sim rollback` makes it live;
- an image removed or changed under the index: searches go on, a rebuild fails naming the missing file, and
  re-embeds only the changed one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from logo_similarity.synthetic import random_text_logo
from logo_similarity.retrieval import CorruptIndexError, SearchIndex
if __package__ in (None, ""):  # run as a file (python scripts/bench/NAME.py): make the repository root importable,
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # as `python -m scripts.bench.NAME` does

from tests.support.faults import (
    CLI,
    Server,
    alive,
    check_root,
    child_pids,
    corrupt,
    file_size_limit,
    fire,
    wait_job,
)

ENV = {"LOGO_SIM__LOG_LEVEL": "WARNING", "LOGO_SIM__INDEX__PCA_MIN_ITEMS": "40", "LOGO_SIM__INDEX__PCA_DIM": "32"}


def png(seed: int) -> bytes:
    import io

    buf = io.BytesIO()
    random_text_logo(seed, side=128)[0].save(buf, format="PNG")
    return buf.getvalue()


def cli(args: list, limit: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **ENV}
    return subprocess.run([*CLI, *map(str, args)], env=env, capture_output=True, text=True, timeout=600,
                          preexec_fn=file_size_limit(limit) if limit else None)


class Results:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, fault: str, checked: str, passed: int, runs: int, note: str = "") -> None:
        self.rows.append({"fault": fault, "checked": checked, "passed": passed, "runs": runs, "note": note})
        print(f"{fault}: {passed}/{runs} {note}", flush=True)


def kills(root: Path, n: int, rng: random.Random, out: Results) -> None:
    server = Server(root, ENV)
    client = server.start().client()
    seed = 10_000
    # how long each write takes when not interrupted: kills are spread over that span (plus a little), so they
    # land before, during and after the switch to the new version
    client.post("/index/items", files={"image": ("w.png", png(9_998), "image/png")}, data={"key": "warm-up"})
    start = time.perf_counter()  # the first add loaded the OCR models: time the second
    client.post("/index/items", files={"image": ("t.png", png(9_999), "image/png")}, data={"key": "timing"})
    add_s = time.perf_counter() - start
    start = time.perf_counter()
    client.delete(f"/index/items/{check_root(root)['ids'][-1]}")
    delete_s = time.perf_counter() - start
    span = {"add": 1.2 * add_s, "delete": 1.2 * delete_s, "bulk add": 8 * add_s, "rebuild": 3.0}
    print(f"uninterrupted: add {add_s * 1000:.0f} ms, delete {delete_s * 1000:.0f} ms", flush=True)
    for op in ("add", "delete", "bulk add", "rebuild"):
        ok, notes = 0, []
        for _ in range(n):
            before = check_root(root)
            delay = rng.uniform(0.0, span[op])
            children: set[int] = set()
            if op == "add":
                seed += 1
                fire(client, "POST", "/index/items", files={"image": ("a.png", png(seed), "image/png")},
                     data={"key": f"K{seed}"})
            elif op == "delete":
                fire(client, "DELETE", f"/index/items/{before['ids'][0]}")
            elif op == "bulk add":
                files = [("images", (f"b{seed + i}.png", png(seed + i), "image/png")) for i in range(1, 9)]
                seed += 8
                job = client.post("/index/items:batch", files=files).json()["id"]
            else:
                job = client.post("/index/rebuild").json()["id"]
            time.sleep(delay)
            if op == "rebuild":
                children = child_pids(server.proc.pid)
            server.kill()
            try:
                after = check_root(root)
                good = True
                if op == "add":
                    good = after["items"] - before["items"] in (0, 1)
                elif op == "delete":
                    good = after["ids"] in (before["ids"], before["ids"][1:])
                elif op == "rebuild":
                    deadline = time.monotonic() + 10
                    while any(alive(p) for p in children) and time.monotonic() < deadline:
                        time.sleep(0.05)
                    survivors = [p for p in children if alive(p)]
                    if survivors:
                        notes.append(f"survivors {[Path(f'/proc/{p}/cmdline').read_bytes()[:80] for p in survivors]}")
                    good = after["ids"] == before["ids"] and not survivors
                client = server.start().client()
                if op in ("bulk add", "rebuild"):
                    state = wait_job(client, job, timeout=300)
                    final = check_root(root)
                    expected = before["items"] + (8 if op == "bulk add" else 0)
                    good = good and state["state"] == "completed" and final["items"] == expected
                    notes.append(f"{state['state']}@run{state['attempts']}")
                else:
                    notes.append("landed" if check_root(root)["items"] != before["items"] else "not landed")
            except Exception as exc:  # a failed check is a result of this benchmark, not its end
                good = False
                notes.append(f"{type(exc).__name__}: {exc}")
                client = server.start().client()
            ok += good
        checked = {"add": "loads whole; item present iff counted",
                   "delete": "loads whole; ids old or old minus one",
                   "bulk add": "loads whole; job completes after restart; +8 items exactly once",
                   "rebuild": "ids unchanged; rebuild process died with server; job completes after restart"}[op]
        summary = ", ".join(f"{k} x{notes.count(k)}" for k in sorted(set(notes)))
        out.add(f"kill -9 during {op}", checked, ok, n, summary)
    server.kill()


def disk_full(scratch: Path, gallery: Path, out: Results) -> None:
    idx, work = scratch / "df-idx", scratch / "df-work"
    build = ["index", gallery, "--out", idx, "--work", work, "--chunk-size", "8"]
    env_off = {"LOGO_SIM__RERANK__OCR_INDEX": "false"}
    os.environ.update(env_off)
    try:
        failed = cli(build, limit=300_000)
        chunks = len(list(work.glob("chunk-*.done")))
        resumed = cli(build)
        good = (failed.returncode == 2 and "disk full" in failed.stderr and "Traceback" not in failed.stderr
                and resumed.returncode == 0 and check_root(idx)["staging_left"] == 0)
        out.add("disk full during a build", "exit 2 + message; nothing live; next run resumes and completes",
                int(good), 1, f"{chunks} chunks done at the fault")
        before = check_root(idx)
        more = scratch / "df-more"
        more.mkdir()
        for i in range(20):
            (more / f"m{i}.png").write_bytes(png(50_000 + i))
        failed = cli(["add", more, "--index", idx], limit=200_000)
        same = check_root(idx) == before
        done = cli(["add", more, "--index", idx])
        good = failed.returncode == 2 and "disk full" in failed.stderr and same and done.returncode == 0
        out.add("disk full during an add (CLI)", "exit 2 + message; index unchanged; rerun adds all", int(good), 1,
                f"items {before['items']} -> {check_root(idx)['items']}")
        server = Server(idx, ENV, preexec=file_size_limit(150_000))
        try:
            client = server.start().client()
            r = client.post("/index/items", files={"image": ("x.png", png(60_000), "image/png")})
            good = r.status_code == 507 and r.json()["reason"] == "disk_full" and check_root(idx)["items"] == before["items"] + 20
            out.add("disk full during an add (API)", "HTTP 507 disk_full; index unchanged", int(good), 1,
                    f"status {r.status_code}")
        finally:
            server.kill()
    finally:
        for key in env_off:
            os.environ.pop(key, None)


def corruption(root: Path, scratch: Path, out: Results) -> None:
    for name, how in (("index.faiss", "truncate"), ("metadata.sqlite", "flip"), ("pca.npz", "garbage")):
        copy = scratch / f"corrupt-{name}"
        shutil.copytree(root, copy, symlinks=True)
        cli(["delete", str(check_root(copy)["ids"][-1]), "--index", copy])  # a newer version to corrupt
        live = (copy / "current").resolve()
        corrupt(live / name, how)
        try:
            SearchIndex.load(copy)
            refused = False
        except CorruptIndexError as exc:
            refused = name in str(exc)
        server = Server(copy, ENV)
        try:
            ready = server.start().client().get("/ready").json()
            served = ready["index_version"] != live.name and "corrupt" in (ready.get("warning") or "")
        finally:
            server.kill()
        rolled = cli(["rollback", "--index", copy]).returncode == 0 and check_root(copy)["version"] != live.name
        out.add(f"corrupt {name} ({how})", "refused naming the file; previous version served; rollback",
                int(refused and served and rolled), 1, f"refused={refused} served_previous={served} rollback={rolled}")


def changed_images(root: Path, gallery: Path, out: Results) -> None:
    server = Server(root, ENV)
    try:
        client = server.start().client()
        index = SearchIndex.load(root)
        victim, changed = Path(index.metadata[3]["file"]), Path(index.metadata[4]["file"])
        victim.rename(victim.with_suffix(".gone"))
        search_ok = client.post("/search", files={"image": ("q.png", png(7), "image/png")}).status_code == 200
        job = wait_job(client, client.post("/index/rebuild").json()["id"], timeout=300)
        refused = job["state"] == "failed" and victim.name in job["error"]
        victim.with_suffix(".gone").rename(victim)
        out.add("image removed under the index", "searches go on; rebuild fails naming it; live unchanged",
                int(search_ok and refused), 1, job["state"])
        wait_job(client, client.post("/index/rebuild").json()["id"], timeout=300)  # fills the embedding cache
        changed.write_bytes(png(99_999))
        job = wait_job(client, client.post("/index/rebuild").json()["id"], timeout=300)
        reused = job.get("result", {}) or {}
        good = job["state"] == "completed" and reused.get("reused_embeddings") == len(index) - 1
        out.add("image changed under the index", "rebuild re-embeds only the changed image", int(good), 1,
                f"reused {reused.get('reused_embeddings')} of {len(index)}")
    finally:
        server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=120)
    parser.add_argument("--kills", type=int, default=5, help="kills per write kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = Results()
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        scratch = Path(tmp)
        gallery = scratch / "gallery"
        gallery.mkdir()
        for i in range(args.items):
            (gallery / f"{i:04d}.png").write_bytes(png(i))
        root = scratch / "idx"
        built = cli(["index", gallery, "--out", root])
        if built.returncode:
            raise SystemExit(built.stderr)
        corruption(root, scratch, results)
        changed_images(root, gallery, results)
        disk_full(scratch, gallery, results)
        kills(root, args.kills, random.Random(args.seed), results)
    table = Table(title="faults", title_justify="left")
    for column in ("fault", "checked", "result", "note"):
        table.add_column(column)
    for row in results.rows:
        verdict = "pass" if row["passed"] == row["runs"] else "FAIL"
        table.add_row(row["fault"], row["checked"], f"{verdict} {row['passed']}/{row['runs']}", row["note"])
    Console(width=180).print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results.rows, indent=2))


if __name__ == "__main__":
    main()
