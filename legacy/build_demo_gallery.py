"""Render the bundled demo gallery (data/demo/) from the simple-icons npm package (CC0 1.0).

Dev-time tool, not a runtime dependency. Reproduce with:

    npm pack simple-icons@16.37.0 && tar xzf simple-icons-16.37.0.tgz   # -> ./package
    pip install resvg-py==0.5.0
    python legacy/build_demo_gallery.py --package ./package --out data/demo --count 300

Icons are drawn in their brand colour (black when the colour is too light to see on white), fitted to 85% of
a square canvas and composited on white; the output is an L3D-style metadata.jsonl (text = brand title).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
from pathlib import Path

import resvg_py
from PIL import Image, ImageOps


def _colour(hex_code: str) -> str:
    r, g, b = (int(hex_code[i : i + 2], 16) for i in (0, 2, 4))
    luminance = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255
    return "#000000" if luminance > 0.8 else f"#{hex_code}"


def render(svg: str, colour: str, side: int) -> Image.Image:
    svg = re.sub(r"<svg ", f'<svg fill="{colour}" ', svg, count=1)
    big = Image.open(io.BytesIO(bytes(resvg_py.svg_to_bytes(svg_string=svg, width=side * 4, height=side * 4))))
    canvas = Image.new("RGB", big.size, "white")
    canvas.paste(big, mask=big.convert("RGBA").getchannel("A"))
    box = ImageOps.invert(canvas.convert("L")).getbbox()
    logo = canvas.crop(box)
    scale = 0.85 * side / max(logo.size)
    logo = logo.resize((max(1, round(logo.width * scale)), max(1, round(logo.height * scale))), Image.LANCZOS)
    out = Image.new("RGB", (side, side), "white")
    out.paste(logo, ((side - logo.width) // 2, (side - logo.height) // 2))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, required=True, help="unpacked simple-icons npm package")
    parser.add_argument("--out", type=Path, default=Path("data/demo"))
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--side", type=int, default=160)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    icons = json.loads((args.package / "data" / "simple-icons.json").read_text())
    chosen = sorted(random.Random(args.seed).sample(icons, args.count), key=lambda icon: icon["slug"])
    (args.out / "images").mkdir(parents=True, exist_ok=True)
    with open(args.out / "metadata.jsonl", "w", encoding="utf-8") as meta:
        for icon in chosen:
            svg = (args.package / "icons" / f"{icon['slug']}.svg").read_text()
            name = f"images/{icon['slug']}.png"
            render(svg, _colour(icon["hex"]), args.side).save(args.out / name, optimize=True)
            meta.write(json.dumps({"file": name, "text": icon["title"], "vienna_codes": [], "year": None}) + "\n")


if __name__ == "__main__":
    main()
