"""Dataset commands: check a dataset (``prepare``), mask its text (``mask``), build one from trademark XML
(``dataset build``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from logo_similarity.commands.options import ConfigOpt, command_settings
from logo_similarity.datasets import DatasetError, read_dataset
from logo_similarity.datasets.mask import MaskReport, mask_dataset
from logo_similarity.datasets.prepare import PrepareReport, prepare_dataset


def prepare(
    dataset: Annotated[Path, typer.Argument(help="folder of images, or L3D metadata (.json list / .jsonl)")],
    out: Annotated[Path, typer.Option(help="folder for the checked metadata.jsonl and rejects.jsonl")],
    images_dir: Annotated[Optional[Path], typer.Option(help="base folder of L3D 'file' paths")] = None,
    config: ConfigOpt = None,
) -> PrepareReport:
    """Check every image of a dataset once; write clean L3D metadata (absolute paths) and the rejects."""
    settings = command_settings(config)
    return prepare_dataset(read_dataset(dataset, images_dir), out, settings.image, settings.index.workers)


def mask(
    dataset: Annotated[Path, typer.Argument(help="folder of images, or L3D metadata (.json list / .jsonl)")],
    out: Annotated[Path, typer.Option(help="folder for masked images and their metadata.jsonl")],
    images_dir: Annotated[Optional[Path], typer.Option(help="base folder of L3D 'file' paths")] = None,
    recognize: Annotated[bool, typer.Option("--recognize/--no-recognize", help="also read the text")] = True,
    config: ConfigOpt = None,
) -> MaskReport:
    """Mask the text of every logo (OCR + inpainting); keep the recognised text and boxes."""
    settings = command_settings(config)
    records = read_dataset(dataset, images_dir)
    cache = Path(settings.model.cache_dir).expanduser()
    return mask_dataset(records, out, settings.image, settings.text, cache, recognize)


def dataset_build(
    sources: Annotated[list[Path], typer.Argument(help="ST.66 XML files, zips of them, or folders")],
    out: Annotated[Path, typer.Option(help="output folder (metadata.jsonl, images/, rejects.jsonl, report/)")],
    images: Annotated[Optional[Path], typer.Option(help="folder of the mark images (default: beside the XML)")] = None,
    side: Annotated[int, typer.Option(min=32, max=2048, help="image side in pixels")] = 256,
    batch: Annotated[int, typer.Option(min=1, help="records per checkpoint (a resume redoes at most these)")] = 256,
    keep_repeats: Annotated[bool, typer.Option(
        "--keep-repeats", help="keep a mark whose image another mark already has (stored once; for a register or "
        "a watch: each application is a mark); default: rejected as duplicate_image (a training set)")] = False,
    config: ConfigOpt = None,
):
    """Build an L3D-format dataset from trademark XML (WIPO ST.66, as EUIPO publishes it); resumable."""
    from logo_similarity.classification import load_vienna
    from logo_similarity.datasets.l3d_builder import build_dataset

    missing = [str(s) for s in sources if not s.exists()]
    if missing:
        raise DatasetError(f"no such source: {', '.join(missing)}")
    settings = command_settings(config)
    return build_dataset(sources, out, images, side, settings.image, batch,
                         load_vienna(settings.classification.vienna_file), keep_repeats)

