"""Text benchmarks: OCR speed and box agreement, ALINE parity and speed, name search at 1M names.

    python -m scripts.bench.bench_text --json runs/bench_text.json            # everything (~10 min)
    python -m scripts.bench.bench_text --only ocr --ocr-configs int8-128,int8-160,fp32-160

OCR: ms/logo for stock ``Reader.detect`` + masking vs ours (detection + masking), and the agreement of the
two box sets (IoU of the text masks they cover) on rendered text logos and on the bundled demo logos.
ALINE: max |ours - abydos| over name pairs, pairs/s for both. Names: p50/p99 latency of one search over 1M
synthetic names and recall of the pre-selection against brute-force ALINE (top 10, top 1, and names with
ALINE >= 0.8).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import numpy as np

from logo_similarity.config import TextSettings, load_settings
from logo_similarity.datasets import read_dataset
from logo_similarity.synthetic import random_text_logo, sound_alike_name, synthetic_name
from logo_similarity.preprocessing import load_image
from logo_similarity.preprocessing.text_mask import mask_text, remove_text, text_mask
from logo_similarity.text.ocr import OcrResult, get_reader
from logo_similarity.utils.logging import configure_logging

def _stock_boxes(reader, rgb: np.ndarray) -> OcrResult:
    horizontal, free = reader.detect(rgb)
    result = OcrResult(boxes=[(int(b[0]), int(b[2]), int(b[1]), int(b[3])) for b in horizontal[0]])
    result.polygons = [[(int(x), int(y)) for x, y in quad] for quad in free[0]]
    return result


def _mask_iou(a: OcrResult, b: OcrResult, shape) -> float | None:
    ma, mb = text_mask(shape, a, 0) > 0, text_mask(shape, b, 0) > 0
    union = (ma | mb).sum()
    return None if union == 0 else float((ma & mb).sum() / union)


def bench_ocr(configs: list[str], n_synthetic: int, n_demo: int, cache: Path) -> dict:
    images = [np.asarray(random_text_logo(seed)[0]) for seed in range(n_synthetic)]
    demo = read_dataset(Path("data/demo/metadata.jsonl"))[:n_demo] if Path("data/demo").exists() else []
    images += [np.asarray(load_image(r.path).resize((256, 256))) for r in demo]
    reader = get_reader(cache, recognizer=False)
    base = TextSettings()
    stock, stock_ms = [], []
    for rgb in images:
        start = time.perf_counter()
        boxes = _stock_boxes(reader, rgb)
        mask_text(__import__("PIL.Image", fromlist=["Image"]).fromarray(rgb), boxes, base)
        stock_ms.append(1000 * (time.perf_counter() - start))
        stock.append(boxes)
    out = {"stock": {"ms_per_logo": statistics.median(stock_ms)}, "ours": {}, "images": len(images)}
    from PIL import Image

    for config in configs:
        kind, size = config.split("-")
        settings = base.model_copy(update={"detector_size": int(size), "quantize": kind == "int8"})
        remove_text(Image.fromarray(images[0]), settings, cache)  # export + warm-up
        ms, ious, agree_empty = [], [], 0
        for rgb, ref in zip(images, stock):
            start = time.perf_counter()
            masked = remove_text(Image.fromarray(rgb), settings, cache)
            ms.append(1000 * (time.perf_counter() - start))
            iou = _mask_iou(masked.ocr, ref, rgb.shape[:2])
            if iou is None:
                agree_empty += 1
            else:
                ious.append(iou)
        out["ours"][config] = {"ms_per_logo": statistics.median(ms), "box_iou": float(np.mean(ious)),
                               "both_empty": agree_empty}
    return out


def bench_aline(pairs: int) -> dict:
    from tests.support.abydos_compat import import_abydos_distance
    from logo_similarity.text.aline import aline_similarity, encode, self_scores, similarity_from_codes
    from logo_similarity.text.normalize import phonetic_letters

    rng = random.Random(1)
    names = [synthetic_name(rng) for _ in range(2000)]
    oracle = import_abydos_distance().ALINE()
    worst, _start = 0.0, time.perf_counter()
    ref_time = 0.0
    for _ in range(pairs):
        a, b = phonetic_letters(rng.choice(names)), phonetic_letters(rng.choice(names))
        t0 = time.perf_counter()
        expected = oracle.sim(a, b)
        ref_time += time.perf_counter() - t0
        worst = max(worst, abs(aline_similarity(a, [b])[0] - expected))
    codes, lens = encode(names[:1000])
    selfs = self_scores(codes, lens)
    q_codes, q_len = encode(["Kodakia"])
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        similarity_from_codes(q_codes[:, : q_len[0]], int(q_len[0]), codes, lens, selfs)
        times.append(time.perf_counter() - t0)
    one_vs_1000 = statistics.median(times)
    return {"max_abs_diff": worst, "pairs": pairs, "abydos_pairs_per_s": pairs / ref_time,
            "ours_pairs_per_s": 1000 / one_vs_1000, "ms_1_vs_1000": 1000 * one_vs_1000,
            "ms_1_vs_1000_with_self_scores": 1000 * (one_vs_1000 + _time(lambda: self_scores(codes, lens)))}


def _time(fn, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def bench_names(n: int, queries: int, recall_queries: int) -> dict:
    from logo_similarity.text.aline import aline_similarity
    from logo_similarity.text.name_index import NameIndex

    rng = random.Random(2)
    names = [synthetic_name(rng) for _ in range(n)]
    start = time.perf_counter()
    index = NameIndex(np.arange(n), names, TextSettings().phonetic_weight)
    build_s = time.perf_counter() - start
    qs = [sound_alike_name(names[rng.randrange(n)], rng) for _ in range(queries)]
    latency = []
    for q in qs:
        t0 = time.perf_counter()
        index.search(q, 20, TextSettings().name_candidates, TextSettings().name_rescore)
        latency.append(time.perf_counter() - t0)
    r10, r1, close = [], [], []
    for q in qs[:recall_queries]:
        truth = index.brute_force_aline(q, 10)
        pre = set(index.preselect(q, TextSettings().name_candidates, TextSettings().name_rescore).tolist())
        sims = aline_similarity(q, [names[i] for i in truth])
        r10.append(np.mean([t in pre for t in truth]))
        r1.append(float(truth[0] in pre))
        close.extend(t in pre for t, s in zip(truth, sims) if s >= 0.8)
    return {"names": n, "build_s": build_s, "p50_ms": float(np.percentile(latency, 50) * 1000),
            "p99_ms": float(np.percentile(latency, 99) * 1000), "preselect_recall": float(np.mean(r10)),
            "preselect_recall@1": float(np.mean(r1)), "preselect_recall_aline>=0.8": float(np.mean(close)) if close else None,
            "recall_queries": recall_queries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["ocr", "aline", "names"])
    parser.add_argument("--ocr-configs", default="int8-128,int8-160,fp32-160")
    parser.add_argument("--ocr-synthetic", type=int, default=60)
    parser.add_argument("--ocr-demo", type=int, default=60)
    parser.add_argument("--aline-pairs", type=int, default=2000)
    parser.add_argument("--names", type=int, default=1_000_000)
    parser.add_argument("--name-queries", type=int, default=200)
    parser.add_argument("--recall-queries", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    configure_logging("WARNING")
    cache = Path(load_settings().model.cache_dir).expanduser()
    report: dict = {}
    if args.only in (None, "ocr"):
        ocr = bench_ocr(args.ocr_configs.split(","), args.ocr_synthetic, args.ocr_demo, cache)
        default = f"{'int8' if TextSettings().quantize else 'fp32'}-{TextSettings().detector_size}"
        chosen = ocr["ours"].get(default) or next(iter(ocr["ours"].values()))
        report["ocr_ms_per_logo"] = {"stock": ocr["stock"]["ms_per_logo"], "ours": chosen["ms_per_logo"]}
        report["ocr_box_iou"] = chosen["box_iou"]
        report["ocr_detail"] = ocr
        print(json.dumps(ocr, indent=2))
    if args.only in (None, "aline"):
        aline = bench_aline(args.aline_pairs)
        report["aline_max_abs_diff"] = aline["max_abs_diff"]
        report["aline_pairs_per_s"] = {"abydos": aline["abydos_pairs_per_s"], "ours": aline["ours_pairs_per_s"]}
        report["aline_detail"] = aline
        print(json.dumps(aline, indent=2))
    if args.only in (None, "names"):
        names = bench_names(args.names, args.name_queries, args.recall_queries)
        report["name_search_1m"] = {k: names[k] for k in ("p50_ms", "p99_ms", "preselect_recall")}
        report["name_search_detail"] = names
        print(json.dumps(names, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
