"""Training logos rendered from Iconify icon sets (npm packages), with LogoBench's renderer conventions.

Each visible icon becomes ``<svg viewBox="left top W H">BODY</svg>`` (``currentColor`` -> black), rendered with
resvg, cropped to the box of the pixels visible on white and rendered again so that box fills ``fill`` of a
square canvas, centred, on white. Renders with under 0.2 % ink are dropped. The output is an L3D-format
dataset (``metadata.jsonl`` with ``set``, ``icon``, ``brand`` extras) plus ``manifest.json`` naming the package,
version, icon and PNG sha256 of every image, so a training set can be rebuilt and audited.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import random
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from loguru import logger
from PIL import Image
from tqdm import tqdm

from logo_similarity.utils.fs import atomic_write

# Never trained on: the independent evaluation sets, and LogoBench's own sets (validation only).
RESERVED_SETS = frozenset({"cib", "fa-brands", "fa6-brands", "fa7-brands", "skill-icons", "simple-icons", "logos", "devicon"})
MIN_INK = 0.002
_SUFFIXES = {"alt", "circle", "color", "dark", "horizontal", "icon", "light", "line", "mono", "monochrome", "old",
             "original", "plain", "reverse", "round", "square", "stroke", "symbol", "vertical", "wordmark", "filled",
             "outline", "logo", "open", "solid"}
_PREFIXES = ("file-type-", "folder-type-", "default-", "square-", "cc-", "folder-")


@dataclass(frozen=True)
class IconPackage:
    name: str
    version: str
    limit: int | None = None

    @property
    def set_name(self) -> str:
        return self.name.rsplit("/", 1)[-1]


def load_icon_config(path: Path) -> tuple[list[IconPackage], dict[str, Any]]:
    data = yaml.safe_load(Path(path).read_text())
    packages = [IconPackage(**p) for p in data["packages"]]
    reserved = [p.name for p in packages if p.set_name in RESERVED_SETS]
    if reserved:
        raise ValueError(f"{path}: {reserved} are reserved for evaluation and must never be trained on")
    return packages, {k: v for k, v in data.items() if k != "packages"}


def install_packages(packages: list[IconPackage], prefix: Path) -> None:
    """``npm install`` the pinned packages into ``prefix`` (skipped when the right versions are there)."""
    missing = []
    for pkg in packages:
        meta = prefix / "node_modules" / pkg.name / "package.json"
        if not meta.is_file() or json.loads(meta.read_text())["version"] != pkg.version:
            missing.append(f"{pkg.name}@{pkg.version}")
    if missing:
        prefix.mkdir(parents=True, exist_ok=True)
        logger.info("npm install {}", " ".join(missing))
        subprocess.run(["npm", "install", "--no-save", "--prefix", str(prefix), *missing], check=True)


def brand_key(name: str) -> str:
    """An icon name reduced to its brand, LogoBench-style: prefixes and style suffixes dropped."""
    key = name.lower()
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix):]
    parts = key.split("-")
    while len(parts) > 1 and (parts[-1] in _SUFFIXES or parts[-1].isdigit()):
        parts.pop()
    return re.sub(r"[^a-z0-9]", "", "".join(parts))


def icon_svg(data: dict[str, Any], name: str, box: tuple[float, float, float, float] | None = None) -> str:
    icon = data["icons"][name]
    left, top = icon.get("left", data.get("left", 0)), icon.get("top", data.get("top", 0))
    width, height = icon.get("width", data.get("width", 16)), icon.get("height", data.get("height", 16))
    x, y, w, h = box or (left, top, width, height)
    body = icon["body"].replace("currentColor", "#000")
    return f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{x} {y} {w} {h}" width="{w}" height="{h}">{body}</svg>'


def _render(svg: str, side: int) -> np.ndarray:
    import resvg_py

    png = resvg_py.svg_to_bytes(svg_string=svg, width=side, height=side, background="#ffffff")
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGB"))


def render_icon(data: dict[str, Any], name: str, side: int = 256, fill: float = 0.85) -> Image.Image | None:
    """The icon cropped to its visible box, scaled so the box fills ``fill`` of ``side``; None if invisible."""
    icon = data["icons"][name]
    width, height = icon.get("width", data.get("width", 16)), icon.get("height", data.get("height", 16))
    left, top = icon.get("left", data.get("left", 0)), icon.get("top", data.get("top", 0))
    probe_side = 256
    scale = probe_side / max(width, height)
    square = max(width, height)  # render the viewBox into a square canvas, then crop to ink
    box0 = (left - (square - width) / 2, top - (square - height) / 2, square, square)
    first = _render(icon_svg(data, name, box0), probe_side)
    ink = (first.min(axis=2) < 250)
    if ink.mean() < MIN_INK:
        return None
    rows, cols = np.where(ink.any(axis=1))[0], np.where(ink.any(axis=0))[0]
    x0, x1 = box0[0] + cols[0] / scale, box0[0] + (cols[-1] + 1) / scale
    y0, y1 = box0[1] + rows[0] / scale, box0[1] + (rows[-1] + 1) / scale
    extent = max(x1 - x0, y1 - y0) / fill
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    out = _render(icon_svg(data, name, (cx - extent / 2, cy - extent / 2, extent, extent)), side)
    if (out.min(axis=2) < 250).mean() < MIN_INK:
        return None
    return Image.fromarray(out, "RGB")


def ink_vectors(images: list[np.ndarray]) -> np.ndarray:
    """32x32 grayscale ink, L2-normalised: LogoBench's near-copy measure (cosine >= 0.95 = near-copy)."""
    out = np.zeros((len(images), 1024), dtype=np.float32)
    for i, arr in enumerate(images):
        small = Image.fromarray(arr).convert("L").resize((32, 32), Image.Resampling.BILINEAR)
        ink = 1.0 - np.asarray(small, dtype=np.float32).ravel() / 255.0
        out[i] = ink / max(float(np.linalg.norm(ink)), 1e-12)
    return out


def near_copy_mask(train_ink: np.ndarray, bench_ink: np.ndarray, threshold: float = 0.95) -> np.ndarray:
    """True for each training vector whose best cosine to any benchmark vector reaches ``threshold``."""
    best = np.zeros(len(train_ink), dtype=np.float32)
    for start in range(0, len(train_ink), 2048):
        best[start:start + 2048] = (train_ink[start:start + 2048] @ bench_ink.T).max(axis=1)
    return best >= threshold


def bench_ink(bench: Path) -> tuple[np.ndarray, set[str]]:
    """Ink vectors of a LogoBench gallery and its brand keys."""
    rows = [json.loads(line) for line in (bench / "gallery.jsonl").read_text().splitlines() if line.strip()]
    arrays = [np.asarray(Image.open(bench / r["file"]).convert("RGB")) for r in rows]
    return ink_vectors(arrays), {r["brand"] for r in rows}


def _render_job(job: tuple) -> Image.Image | None:
    return render_icon(*job)


def render_training_icons(config: Path, out: Path, npm_prefix: Path, bench: Path | None,
                          workers: int = 2) -> dict[str, Any]:
    """Render the configured sets into ``out`` (L3D metadata + manifest); drop near-copies of ``bench``."""
    packages, opts = load_icon_config(config)
    install_packages(packages, npm_prefix)
    rng = random.Random(opts.get("seed", 0))
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    arrays: list[np.ndarray] = []
    invisible = 0
    for pkg in packages:
        data = json.loads((npm_prefix / "node_modules" / pkg.name / "icons.json").read_text())
        names = sorted(n for n, icon in data["icons"].items() if not icon.get("hidden"))
        if pkg.limit is not None and len(names) > pkg.limit:
            names = sorted(rng.sample(names, pkg.limit))
        jobs = [(data, name, opts.get("side", 256), opts.get("fill", 0.85)) for name in names]
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            images = list(tqdm(pool.imap(_render_job, jobs, chunksize=32), total=len(jobs), desc=pkg.set_name,
                               mininterval=2))
        for name, image in zip(names, images):
            if image is None:
                invisible += 1
                continue
            arrays.append(np.asarray(image))
            rows.append({"set": pkg.set_name, "package": pkg.name, "version": pkg.version, "icon": name,
                         "brand": brand_key(name)})
    dropped: list[str] = []
    bench_brands: set[str] = set()
    if bench is not None:
        bench_vectors, bench_brands = bench_ink(bench)
        near = near_copy_mask(ink_vectors(arrays), bench_vectors)
        dropped = [f"{r['set']}:{r['icon']}" for r, n in zip(rows, near) if n]
        rows = [r for r, n in zip(rows, near) if not n]
        arrays = [a for a, n in zip(arrays, near) if not n]
    else:
        logger.warning("no benchmark given: near-copies of LogoBench images are NOT filtered out")
    manifest, lines = [], []
    for row, array in zip(rows, arrays):
        buf = io.BytesIO()
        Image.fromarray(array, "RGB").save(buf, format="PNG", optimize=True)
        file = f"images/{row['set']}__{row['icon']}.png"
        atomic_write(out / file, buf.getvalue())
        manifest.append({**row, "file": file, "sha256": hashlib.sha256(buf.getvalue()).hexdigest()})
        lines.append(json.dumps({"file": file, "text": None, "set": row["set"], "icon": row["icon"],
                                 "brand": row["brand"], "brand_in_bench": row["brand"] in bench_brands}))
    atomic_write(out / "metadata.jsonl", ("\n".join(lines) + "\n").encode())
    summary = {"images": len(rows), "invisible": invisible, "near_copies_dropped": len(dropped),
               "dropped": dropped, "packages": [p.__dict__ for p in packages], "config": opts, "items": manifest}
    atomic_write(out / "manifest.json", json.dumps(summary, indent=1).encode())
    logger.info("rendered {} training icons ({} invisible, {} near-copies of the benchmark dropped)",
                len(rows), invisible, len(dropped))
    return summary
