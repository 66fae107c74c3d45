"""Dataset builder throughput: ST.66 XML of --records marks (rendered logos, a few bad records) -> L3D.

    python scripts/bench/bench_dataset.py --records 10000 --json runs/bench_dataset.json

Writes the fixture (one XML file, PNG images beside it, one record in 50 naming a missing image, one in 50 a
duplicate image, one in 50 an unknown Vienna code; the others codes under real divisions), runs
`build_dataset` and reports records/s, images/s, the rejects by reason and where the report PNGs are (kept
with --keep).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from logo_similarity.datasets.l3d_builder import build_dataset
from logo_similarity.classification import load_vienna
from logo_similarity.synthetic import random_text_logo, synthetic_name

CATEGORIES = ("01", "02", "03", "05", "24", "26", "27", "28")
from logo_similarity.utils.logging import configure_logging

NS = "http://www.euipo.europa.eu/EUTM/EUTM_Download"


def _mark(number: str, name: str, image: str, code: str, year: int) -> str:
    return (f"<TradeMark><ApplicationNumber>{number}</ApplicationNumber><ApplicationDate>{year}-05-01</ApplicationDate>"
            f"<MarkFeature>Figurative</MarkFeature><WordMarkSpecification><MarkVerbalElementText>{name}"
            f"</MarkVerbalElementText></WordMarkSpecification><MarkImageDetails><MarkImage><MarkImageFilename>{image}"
            f"</MarkImageFilename><MarkImageCategory><CategoryCodeDetails><CategoryCode>{code}</CategoryCode>"
            f"</CategoryCodeDetails></MarkImageCategory></MarkImage></MarkImageDetails><GoodsServicesDetails>"
            f"<GoodsServices><ClassDescriptionDetails><ClassDescription><ClassNumber>9</ClassNumber></ClassDescription>"
            f"</ClassDescriptionDetails></GoodsServices></GoodsServicesDetails></TradeMark>")


def write_fixture(folder: Path, records: int, side: int = 96) -> None:
    rng = random.Random(0)
    divisions = sorted(c for c in load_vienna().entries if c.count(".") == 1 and c[:2] in CATEGORIES)
    marks = []
    for i in range(records):
        image = f"{i:06d}.png"
        if i % 50 == 7:
            image = "missing.png"
        elif i % 50 == 13:
            image = f"{i - 1:06d}.png"  # the previous mark's image
        else:
            random_text_logo(i, side=side)[0].save(folder / image)
        code = f"{rng.choice(divisions)}.{rng.randint(1, 25):02d}" if i % 50 != 23 else "99.01.01"  # unknown
        marks.append(_mark(f"{i:09d}", synthetic_name(rng).upper(), image, code, rng.randint(1996, 2024)))
    (folder / "marks.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><Transaction xmlns="{NS}"><TradeMarkTransactionBody>'
        "<TransactionContentDetails><TransactionData><TradeMarkDetails>" + "".join(marks)
        + "</TradeMarkDetails></TransactionData></TransactionContentDetails></TradeMarkTransactionBody></Transaction>")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="build into this folder and keep it (report PNGs)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    configure_logging("WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        start = time.perf_counter()
        write_fixture(src, args.records)
        fixture_s = time.perf_counter() - start
        out = args.keep or Path(tmp) / "out"
        report = build_dataset([src], out)
        result = {"records": report.records, "images": report.items, "seconds": report.seconds,
                  "records_per_s": report.records_per_s, "images_per_s": report.items / report.seconds,
                  "rejects": dict(report.rejects), "fixture_s": fixture_s,
                  "report": str(out / "report") if args.keep else None}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
