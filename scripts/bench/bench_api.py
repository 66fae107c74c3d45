"""API benchmark: a real uvicorn on loopback over a 10k-item index, driven by concurrent clients.

    python -m scripts.bench.bench_api --json runs/bench_api.json
    python -m scripts.bench.bench_api --duration 20 --clients 8          # quicker

1. Gallery (cached in --work): the 300 bundled demo logos plus modified copies (recolour, rotate, crop) up to
   --items, with names, Vienna codes and years; indexed with `logo-sim index` (embedding cache: reruns are fast).
2. `logo-sim serve` in a subprocess (the real CLI and uvicorn), a random API key in its environment.
3. Load: for each N in --clients, N concurrent clients post searches for --duration s (fresh modified copies
   of demo logos, not in the gallery; one in four with a mark name); throughput, p50/p99, errors; re-ranking on
   and the query cache off (the 200 query images repeat). Then batch: one client posting --batch-size images per
   POST /search:batch (queries/s). Last, a second server with the query cache on, under the first load.
4. Swap: 8 clients for --duration s (or until 10 s after the switch, when the rebuild takes longer); a quarter
   in, POST /index/rebuild (re-embeds every item, retrains the index, switches versions); every failed request
   counts.
5. Bad inputs: every case of `tests.support.bad_inputs` against the server; statuses and 5xx count.

Clients and server share this machine's cores; the client side costs CPU too, so throughput is a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import secrets
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx
from PIL import Image

if __package__ in (None, ""):  # run as a file (python scripts/bench/NAME.py): make the repository root importable,
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # as `python -m scripts.bench.NAME` does

from tests.support.bad_inputs import bad_requests, send
from tests.support.faults import free_port
from logo_similarity.datasets import read_dataset
from logo_similarity.datasets.transforms import modified_copy
from logo_similarity.utils.timing import percentiles_ms

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo"
CODES = ["01.01.01", "01.03.02", "02.01.01", "03.01.08", "05.03.13", "24.17.02", "26.01.03", "26.04.05", "27.05.01"]


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _make_copy(args: tuple[str, str, int]) -> None:
    source, target, seed = args
    with Image.open(source) as im:
        image, _ = modified_copy(im.convert("RGB"), seed)
    image.save(target)


def make_gallery(work: Path, items: int) -> Path:
    gallery = work / "gallery"
    metadata = gallery / "metadata.jsonl"
    if metadata.exists() and sum(1 for _ in open(metadata)) == items:
        return metadata
    (gallery / "images").mkdir(parents=True, exist_ok=True)
    demo = read_dataset(DEMO / "metadata.jsonl")
    rng = random.Random(0)
    jobs, rows = [], []
    for i in range(items):
        source = demo[i % len(demo)]
        target = gallery / "images" / f"{i:05d}.png"
        if i < len(demo):
            target.write_bytes(Path(source.path).read_bytes())
        elif not target.exists():
            jobs.append((str(source.path), str(target), f"gallery-{i}"))
        rows.append({"file": f"images/{i:05d}.png", "text": source.text, "vienna_codes": rng.sample(CODES, 2),
                     "year": rng.randint(1990, 2025)})
    with ProcessPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(_make_copy, jobs, chunksize=64))
    metadata.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return metadata


def start_server(index: Path, key: str, port: int, log: Path, query_cache: int = 0) -> subprocess.Popen:
    """``logo-sim serve`` with shipped settings, but its query cache of ``query_cache`` images (0: off: the load
    repeats a few hundred query images, so a cache would otherwise measure itself)."""
    env = {**os.environ, "LOGO_SIM__API__API_KEY": key, "LOGO_SIM__LOG_LEVEL": "WARNING",
           "LOGO_SIM__SEARCH__QUERY_CACHE": str(query_cache)}
    proc = subprocess.Popen([sys.executable, "-m", "logo_similarity.cli", "serve", "--index", str(index),
                             "--port", str(port)], env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    proc.kill()
    raise SystemExit("server not ready after 300 s")


def query_pool(n: int = 200) -> list[tuple[bytes, str | None]]:
    demo = read_dataset(DEMO / "metadata.jsonl")
    rng = random.Random(1)
    pool = []
    for i in range(n):
        record = rng.choice(demo)
        with Image.open(record.path) as im:
            image, _ = modified_copy(im.convert("RGB"), f"query-{i}")
        pool.append((_png(image), record.text if i % 4 == 0 else None))
    return pool


async def drive(url: str, clients: int, duration: float, queries, during=None) -> dict:
    """``clients`` concurrent loops of searches for ``duration`` s; ``during(http)`` runs alongside."""
    samples: list[tuple[float, int]] = []
    errors: list[str] = []
    versions: dict[str, int] = {}
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        deadline = [time.monotonic() + duration]  # ``during`` may extend it (load goes on past the swap)

        async def client(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < deadline[0]:
                image, text = rng.choice(queries)
                data = {"k": "20", **({"text": text} if text else {})}
                start = time.perf_counter()
                try:
                    r = await http.post("/search", files={"image": ("q.png", image, "image/png")}, data=data)
                    samples.append((time.perf_counter() - start, r.status_code))
                    if r.status_code == 200:
                        versions[r.json()["index_version"]] = versions.get(r.json()["index_version"], 0) + 1
                    else:
                        errors.append(f"{r.status_code} {r.text[:120]}")
                except httpx.HTTPError as exc:
                    samples.append((time.perf_counter() - start, 0))
                    errors.append(f"{type(exc).__name__}: {exc}")

        tasks = [client(i) for i in range(clients)] + ([during(http, deadline)] if during else [])
        started = time.perf_counter()
        extra = await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    ok = [s for s, status in samples if status == 200]
    lat = percentiles_ms(ok)
    return {"clients": clients, "requests": len(samples), "rps": round(len(ok) / elapsed, 2),
            "p50_ms": round(lat["p50"], 1), "p99_ms": round(lat["p99"], 1), "errors": len(errors),
            "error_examples": errors[:5], "versions": versions, "during": extra[-1] if during else None}


async def drive_batches(url: str, duration: float, queries, batch_size: int) -> dict:
    """One client posting ``batch_size`` images per ``POST /search:batch`` for ``duration`` s: queries/s."""
    rng = random.Random(7)
    answered, errors, started = 0, [], time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=300) as http:
        while time.perf_counter() - started < duration:
            files = [("images", (f"q{i}.png", rng.choice(queries)[0], "image/png")) for i in range(batch_size)]
            r = await http.post("/search:batch", files=files, data={"k": "20"})
            if r.status_code == 200:
                answered += sum(item["search"] is not None for item in r.json()["items"])
            else:
                errors.append(f"{r.status_code} {r.text[:120]}")
    elapsed = time.perf_counter() - started
    return {"queries_per_s": round(answered / elapsed, 2), "rerank": True, "batch_size": batch_size,
            "query_cache": False, "queries": answered, "errors": len(errors), "error_examples": errors[:3]}


def rebuild_midway(key: str, delay: float):
    async def during(http: httpx.AsyncClient, deadline: list[float]) -> dict:
        await asyncio.sleep(delay)
        planned = deadline[0]
        deadline[0] = float("inf")  # clients go on until the switch, however long the rebuild takes
        before = (await http.get("/stats")).json()["index_version"]
        started = time.perf_counter()
        job = (await http.post("/index/rebuild", headers={"X-API-Key": key})).json()
        while job["state"] not in ("completed", "failed"):
            await asyncio.sleep(0.2)
            job = (await http.get(f"/jobs/{job['id']}")).json()
        after = (await http.get("/stats")).json()["index_version"]
        deadline[0] = max(planned, time.monotonic() + 10)  # and for 10 s after it
        return {"job": job["state"], "error": job["error"], "seconds": round(time.perf_counter() - started, 1),
                "version_before": before, "version_after": after, "switched": before != after}
    return during


def try_bad_inputs(url: str, key: str) -> dict:
    cases = bad_requests(key, 10 * 1024**2)
    rows = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for case in cases:
            try:
                r = send(http, case)
                status, reason = r.status_code, r.json().get("reason")
            except httpx.HTTPError as exc:  # e.g. the server closed an oversized upload mid-stream
                status, reason = 0, type(exc).__name__
            rows.append({"case": case.name, "status": status, "reason": reason, "expected": list(case.expect)})
    return {"tried": len(rows), "http_5xx": sum(r["status"] >= 500 for r in rows),
            "unexpected": [r for r in rows if r["status"] not in r["expected"]], "cases": rows}


def _swap_row(url: str, key: str, duration: float, queries) -> dict:
    """8 clients searching while POST /index/rebuild runs and the server switches versions."""
    swap_run = asyncio.run(drive(url, 8, duration, queries, rebuild_midway(key, duration / 4)))
    swap = {"requests": swap_run["requests"], "failed": swap_run["errors"], "clients": 8,
             "rps": swap_run["rps"], "p50_ms": swap_run["p50_ms"], "p99_ms": swap_run["p99_ms"],
             "rebuild": swap_run["during"], "error_examples": swap_run["error_examples"],
             "answered_by_version": swap_run["versions"],
             "switched_under_load": len(swap_run["versions"]) >= 2}
    print(f"swap: {swap['requests']} requests, {swap['failed']} failed, p99 {swap['p99_ms']} ms, rebuild "
          f"{swap['rebuild']}, answered by version {swap['answered_by_version']}", flush=True)
    return swap


def _load_row(url: str, clients: int, duration: float, queries, query_cache: bool) -> dict:
    row = asyncio.run(drive(url, clients, duration, queries))
    row.pop("during")
    row.pop("versions")
    row = {"clients": clients, "rerank": True, "query_cache": query_cache, **row}
    print(f"load {clients} clients (query cache {'on' if query_cache else 'off'}): {row['rps']} req/s, p50 "
          f"{row['p50_ms']} ms, p99 {row['p99_ms']} ms, errors {row['errors']}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "bench_api")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--clients", type=int, nargs="*", default=[8, 32], help="load rows (none: swap and bad inputs only)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per POST /search:batch in the batch row")
    parser.add_argument("--no-swap", action="store_true",
                        help="leave out the swap under load (its rebuild re-embeds every item: minutes at 10k)")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    metadata = make_gallery(args.work, args.items)
    print(f"gallery: {args.items} items ({time.perf_counter() - t:.0f} s)", flush=True)
    index = args.work / "index"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "logo_similarity.cli", "index", str(metadata), "--out", str(index)],
                   check=True, env={**os.environ, "LOGO_SIM__LOG_LEVEL": "WARNING"})
    print(f"index built ({time.perf_counter() - t:.0f} s)", flush=True)
    queries = query_pool()
    key, port = secrets.token_urlsafe(32), free_port()
    server = start_server(index, key, port, args.work / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        stats = httpx.get(url + "/stats").json()
        print(f"serving {stats['items']} items, {stats['index_type']} {stats['search_params']}", flush=True)
        asyncio.run(drive(url, 2, 5, queries))  # warm-up
        load = []
        for clients in args.clients:
            load.append(_load_row(url, clients, args.duration, queries, query_cache=False))
        batch = asyncio.run(drive_batches(url, args.duration, queries, args.batch_size))
        print(f"batch of {batch['batch_size']}: {batch['queries_per_s']} queries/s, errors {batch['errors']}", flush=True)
        swap = None if args.no_swap else _swap_row(url, key, args.duration, queries)
        bad = try_bad_inputs(url, key)
        print(f"bad inputs: {bad['tried']} tried, {bad['http_5xx']} answered 5xx, "
              f"{len(bad['unexpected'])} not the expected status", flush=True)
        server_stats = httpx.get(url + "/stats").json()
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.clients:  # the same load with the shipped query cache on: the repeated images are answered from it
        server = start_server(index, key, port, args.work / "server-cached.log", query_cache=256)
        try:
            asyncio.run(drive(url, 2, 5, queries))
            load.append(_load_row(url, args.clients[0], args.duration, queries, query_cache=True))
        finally:
            server.terminate()
            server.wait(timeout=30)
    report = {"load": load, "batch": batch, "swap": swap, "bad_inputs": bad,
              "index": {"items": server_stats["items"], "type": server_stats["index_type"],
                        "search_params": server_stats["search_params"], "pca_dim": server_stats["pca_dim"]},
              "duration_s": args.duration, "cpu_count": os.cpu_count()}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
