"""One typed settings tree. Defaults live here; YAML files and env vars override them.

Precedence (lowest first): field defaults < YAML file(s) < environment (``LOGO_SIM__SECTION__FIELD``)
< explicit overrides (CLI flags). ``config/default.yaml`` mirrors the defaults and a test keeps the two equal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

ENV_PREFIX = "LOGO_SIM__"
CONFIG_ENV = "LOGO_SIM_CONFIG"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImageSettings(_Section):
    """Limits and normalisation applied to every image the system reads."""

    max_pixels: int = Field(40_000_000, gt=0, description="decompression-bomb guard (width x height)")
    max_bytes: int = Field(20 * 1024 * 1024, gt=0, description="largest encoded file accepted")
    min_side: int = Field(8, ge=1, description="smaller images carry no usable shape")
    background: tuple[int, int, int] = (255, 255, 255)


class ModelSettings(_Section):
    """Which embedder to run and how. Preprocessing fields are saved with every model and index."""

    arch: str = "tf_efficientnet_lite0"
    input_size: int = Field(224, ge=32)
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    pooling: Literal["gem", "avg"] = "gem"
    color_mode: Literal["rgb", "gray"] = Field("gray", description="gray: compare shapes, not colours")
    gem_p: float = Field(3.0, gt=0)
    backend: Literal["onnx", "torch"] = "onnx"
    threads: int = Field(2, ge=1)
    batch_size: int = Field(32, ge=1)
    cache_dir: str = Field("~/.cache/logo_similarity", description="where exported ONNX models are kept")


class TextSettings(_Section):
    """OCR, text masking and name similarity. Mask parameters are recorded with every index."""

    mask: bool = Field(False, description="mask detected text before embedding (shapes, not words)")
    detector: Literal["craft", "ppocr"] = Field(
        "craft", description="text detector: EasyOCR's CRAFT (int8 export) or PP-OCRv4's mobile DB detector "
        "(text/db_detector.py)",
    )
    detector_size: int = Field(160, ge=64, le=2560, description="long side of the image fed to the text detector")
    quantize: bool = Field(True, description="int8 CRAFT on onnxruntime (calibrated on rendered logos)")
    text_threshold: float = Field(0.7, gt=0, lt=1)
    low_text: float = Field(0.4, gt=0, lt=1)
    link_threshold: float = Field(0.4, gt=0, lt=1)
    db_thresh: float = Field(0.3, gt=0, lt=1, description="PP-OCR: text probability that makes a pixel text")
    db_box_thresh: float = Field(0.5, gt=0, lt=1, description="PP-OCR: least mean probability inside a kept box")
    db_unclip_ratio: float = Field(1.6, gt=0, description="PP-OCR: how far a box grows past its text core")
    min_size: int = Field(10, ge=0, description="boxes smaller than this (px, long side) are ignored")
    mask_margin: int = Field(2, ge=0, description="px added around each box before inpainting")
    inpaint_radius: int = Field(3, ge=1)
    min_ink_left: float = Field(
        0.3, ge=0, lt=1, description="keep the logo unmasked when less than this share of its ink would remain "
        "(a word mark: the words are the mark)",
    )
    phonetic_weight: float = Field(0.6, ge=0, le=1, description="ALINE share of the text similarity")
    name_candidates: int = Field(4000, ge=10, description="names pre-selected before exact re-scoring")
    name_rescore: int = Field(
        200_000, ge=0, description="names (best by n-gram overlap) ranked by compiled ALINE to pick those candidates",
    )
    ocr_threads: int = Field(2, ge=1, description="onnxruntime threads of the CRAFT text detector and recogniser")
    recognizer: Literal["onnx", "torch"] = Field(
        "onnx", description="word recogniser: EasyOCR's network on onnxruntime, crop by crop (text/recognizer.py), "
        "or EasyOCR's own torch Reader.recognize",
    )


class ElementSettings(_Section):
    """Composite marks split into their elements at index and query time (``preprocessing/elements.py``): the
    words (OCR boxes and text) and the figure (the image with the words removed, cropped to the ink left and
    re-fitted like any logo), so a device is compared with devices whatever words surround it."""

    enabled: bool = Field(True, description="split marks into figure and words; store and search figure vectors")
    figure_fit: float = Field(0.85, gt=0.2, le=1, description="share of the square canvas a re-fitted figure fills")
    min_figure_ink: float = Field(
        0.04, ge=0, lt=1, description="a mark whose ink outside the text is less than this share of its ink is a word mark"
    )
    min_word_aspect: float = Field(
        1.5, ge=0, description="text boxes narrower than this x their height are glyphs of the figure, not words"
    )
    min_figure_px: int = Field(12, ge=1, description="a figure smaller than this (px, longer side) is none: a word mark")
    min_fragment: float = Field(
        0.03, ge=0, lt=1, description="ink blobs left by the words (serifs, accents) smaller than this share are dropped"
    )
    ink_tolerance: int = Field(60, ge=1, le=765, description="sum of channel differences from the background that is ink")
    figure_fetch: int = Field(100, ge=0, description="stage-1 candidates from each figure search")
    word_fill: Literal["background", "inpaint"] = Field(
        "background", description="how the words are removed before the figure is cut out: painted with the "
        "background colour, or inpainted (cv2, as text masking; ~20 ms a mark more on 2 cores)",
    )


class IndexSettings(_Section):
    dir: str = "index/default"
    chunk_size: int = Field(1024, ge=1, description="images per crash-safe chunk of an index build")
    memory_gb: float = Field(8.0, gt=0, description="memory budget for the search index (picks its type)")
    target_recall: float = Field(0.95, gt=0, le=1, description="recall@100 vs exact search that tuning aims for")
    pca_dim: int = Field(256, ge=0, description="PCA-whiten embeddings to this many dims (0 = off)")
    pca_min_items: int = Field(2560, ge=1, description="fit PCA only on collections at least this large")
    mmap: bool = Field(True, description="memory-map the index file when searching (read-only, shared pages)")
    workers: int = Field(2, ge=0, description="image decoding workers (threads, or processes, see below)")
    decode_processes: bool = Field(
        False, description="decode in worker processes (text mask off); on 2 cores threads measured faster",
    )
    lock_timeout_s: float = Field(
        300.0, gt=0, description="how long a change waits for another writer (server, CLI, rebuild) to finish",
    )
    engine: Literal["local", "ray"] = Field(
        "local", description="where builds embed: this process, or a Ray cluster (extra [distributed])",
    )
    ray_address: str | None = Field(
        None, description="Ray cluster to join ('auto', 'ray://host:10001'); none starts a local one",
    )
    num_workers: int = Field(0, ge=0, description="Ray embedding actors (0: one per GPU, else one per CPU)")
    shard_size: int = Field(
        0, ge=0, description="vectors per shard of a sharded IVF build, lists merged on disk (0: one process)",
    )


class SearchSettings(_Section):
    k: int = Field(20, ge=1, le=1000)
    candidates: int = Field(1000, ge=1, le=100_000, description="ANN candidates fetched when filtering or re-ranking")
    rerank: bool = Field(True, description="stage 2: re-rank candidates by the fused score (settings: rerank)")
    query_cache: int = Field(
        256, ge=0, description="query images whose features (vector, local features, figure, name read) are kept "
        "by pixel content, per index version (search/cache.py); 0: none",
    )
    batch_workers: int = Field(
        2, ge=1, le=64, description="threads a batch of queries (a watch run's chunk, POST /search:batch, logo-sim "
        "search over a folder) is split over, each reading and embedding its part (on 2 cores: 1.45x one)",
    )


class RerankSettings(_Section):
    """Stage 2: component scores over the stage-1 candidates and their fusion (``reranking/``).

    The weights are fitted on a validation benchmark by ``scripts/06b_fit_rerank.py``, which writes them here.
    """

    local_features: bool = Field(True, description="store local (patch) features at index time for spatial matching")
    local_dim: int = Field(32, ge=4, le=256, description="PCA dims per grid cell (196 cells x dims x 2 bytes)")
    spatial: Literal["verified", "patch_max", "off"] = Field(
        "verified", description="verified: mutual NN + RANSAC affine; patch_max: mean of best cell cosines"
    )
    spatial_top: int = Field(100, ge=0, description="candidates (best by image score) given a spatial score")
    min_cell_similarity: float = Field(0.5, ge=-1, le=1, description="cosine below which cells never match")
    text_top: int = Field(150, ge=0, description="image candidates given a name score (those found by name have one)")
    ocr_query: bool = Field(True, description="read the name from the query logo when none is given")
    ocr_index: bool = Field(True, description="read the text of unnamed marks at index time (searchable as a name)")
    min_ocr_confidence: float = Field(0.5, ge=0, le=1, description="OCR words below this confidence are ignored")
    min_ocr_letters: int = Field(3, ge=1, description="OCR words with fewer letters are ignored (stray glyphs)")
    ocr_name_fetch: int = Field(100, ge=0, description="sound-alike candidates fetched for a name read by OCR")
    qe_top: int = Field(0, ge=0, description="alpha query expansion over the top n candidates (0 = off)")
    qe_alpha: float = Field(3.0, ge=0, description="similarity exponent of alpha-QE and DBA weights")
    dba_top: int = Field(0, ge=0, description="database-side augmentation with n nearest candidates (0 = off)")
    weights: dict[str, float] = Field(
        default_factory=lambda: {"image": 1.0, "spatial": 0.1, "text": 1.6, "ocr_text": 1.6, "vienna": 0.2,
                                 "figure": 1.0, "nice": 0.2},
        description="fusion weight per component: composite = sum of weight x (score - neutral) over those present",
    )
    neutral: dict[str, float] = Field(
        default_factory=lambda: {"image": 0.0, "spatial": 0.2, "text": 0.4, "ocr_text": 0.4, "vienna": 0.33,
                                 "figure": 0.2, "nice": 0.5},
        description="score of an unrelated pair per component: a missing component counts as this (no evidence)",
    )
    either: float = Field(
        0.75, ge=0, le=1, description="share of the fused score given to the strongest single component (reranking/fusion.py)"
    )


class CalibrationSettings(_Section):
    """From a fused score to a conflict probability and a tier (``reranking/calibration.py``): fitted on benchmark
    pairs by ``scripts/bench/bench_watch.py --write-calibration``; served per result by ``/search`` and per alert
    by watch runs, so a single search and a watch speak the same language."""

    file: str | None = Field(
        None, description="knots of the map for PCA-whitened indexes (JSON); default: the one shipped in the package")
    raw_file: str | None = Field(
        None, description="knots of the map for indexes without PCA (fewer than index.pca_min_items marks); "
        "default: the one shipped in the package")
    medium: float = Field(0.3, ge=0, le=1, description="conflict probability from which a pair is medium tier")
    high: float = Field(0.9, ge=0, le=1, description="conflict probability from which a pair is high tier")


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    api_key: SecretStr | None = Field(None, description="key for mutating endpoints (header X-API-Key); set by env")
    dev_mode: bool = Field(False, description="allow starting with no or a weak API key (local development only)")
    read_requires_key: bool = Field(False, description="also require the key for search and read endpoints")
    keys_file: str = Field("keys.sqlite", description="client keys (logo-sim keys create), hashed; made by that command")
    max_upload_mb: float = Field(10.0, gt=0, description="largest request body; rejected while streaming")
    max_in_flight: int = Field(64, ge=1, description="searches admitted at once (running + queued); beyond: 503")
    search_threads: int = Field(2, ge=1, description="threads running searches off the event loop")
    inference_threads: int = Field(
        1, ge=1, description="onnxruntime threads per search in the server (search_threads x this ~ cores)"
    )
    write_threads: int = Field(1, ge=1, description="threads running index writes (they are serialised anyway)")
    max_writes_in_flight: int = Field(16, ge=1, description="writes admitted at once (running + waiting); beyond: 503")
    max_batch_mb: float = Field(512.0, gt=0, description="largest body of a bulk add (POST /index/items:batch)")
    max_batch_files: int = Field(20_000, ge=1, description="most images in one bulk add")
    retry_after_s: int = Field(1, ge=1, description="Retry-After sent with a 503")
    job_nice: int = Field(5, ge=0, le=19, description="CPU niceness added to background jobs (rebuilds)")
    job_timeout_s: float = Field(6 * 3600.0, gt=0, description="a job running longer fails (and frees index writes)")


class EvalSettings(_Section):
    latency_queries: int = Field(100, ge=0, description="queries timed one by one, end to end")
    ks: tuple[int, ...] = (1, 10, 100)
    map_at: int = 100


class TrainSettings(_Section):
    """MoCo v3 fine-tuning (``logo-sim train``). Defaults are the CPU recipe; the GPU recipe is in the model card."""

    batch_size: int = Field(64, ge=2)
    queue_size: int = Field(65536, ge=0, description="momentum keys kept as extra negatives (0 = in-batch only)")
    momentum: float = Field(0.99, gt=0, lt=1, description="start of the cosine momentum schedule (ends at 1)")
    temperature: float = Field(0.2, gt=0)
    lr: float = Field(2e-4, gt=0, description="AdamW peak learning rate")
    weight_decay: float = Field(0.05, ge=0)
    warmup_steps: int = Field(100, ge=0)
    steps: int = Field(1500, ge=1, description="optimiser steps in all (an epoch = images // batch_size)")
    epochs: float | None = Field(None, gt=0, description="when set, steps = epochs x (images // batch_size)")
    frozen_stages: int = Field(5, ge=0, le=6, description="EfficientNet block stages kept frozen (stem included)")
    bn_train: bool = Field(False, description="update BatchNorm statistics of the trunk (off: pretrained ones)")
    proj_hidden: int = Field(2048, ge=16)
    proj_dim: int = Field(256, ge=8)
    views: int = Field(3, ge=0, description="precomputed views per image (view 0 clean); 0 = augment on the fly")
    max_images: int | None = Field(None, ge=1, description="train on a seeded sample of this many images")
    weak: Literal["none", "brand", "vienna"] = Field("none", description="extra positives: same brand / codes")
    weak_prob: float = Field(0.5, ge=0, le=1, description="share of pairs taken across a weak group")
    amp: Literal["auto", "bf16", "fp16", "off"] = Field("auto", description="auto: bf16 (or fp16) on CUDA, fp32 on CPU")
    val_bench: str | None = Field("../shared/logobench", description="LogoBench-format split for validation")
    val_every: int = Field(250, ge=1)
    val_queries_per_task: int | None = Field(600, ge=1)
    patience: int = Field(4, ge=1, description="validations without improvement before stopping early")
    checkpoint_every: int = Field(100, ge=1)
    cache_dir: str = Field("runs/train-cache", description="precomputed views and validation features (reused)")
    loader_workers: int = Field(4, ge=0, description="processes rendering on-the-fly views (views = 0)")
    seed: int = 0


class ClassificationSettings(_Section):
    vienna_file: str | None = Field(
        None, description="a code<TAB>title file (WIPO's list, L3D's vienna_codes) over the shipped Vienna table")
    review_below: float = Field(0.6, ge=0.0, le=1.0,
                                description="`logo-sim names review` lists OCR-read names at or below this confidence")


class WatchSettings(_Section):
    root: str = Field("watches", description="folder of the watch lists (watch.sqlite, each list's marks index)")
    min_score: float = Field(0.0, description="fused score a filing must also reach against a watched mark to be an alert")
    min_conflict: float = Field(0.004, ge=0, le=1, description="calibrated conflict probability a pair needs to be "
                                "an alert (the fused score's scale depends on the list's embedding space; this does "
                                "not). 0.004 cut alerts 3x on the bench's whitened list and kept 97 % of the conflicts "
                                "among each filing's top per_filing, every one of the first 5T a reviewer reads; 0: "
                                "every filing's top per_filing marks")
    per_filing: int = Field(20, ge=1, description="at most this many alerts per filing: the watched marks it resembles most")
    chunk: int = Field(16, ge=1, description="filings compared per transaction (a killed run loses at most one)")
    lock_timeout_s: float = Field(30.0, ge=0.0, description="wait this long for another writer of the watch store")
    opposition_months: dict[str, int] = Field(
        {"default": 3, "EM": 3},
        description="months after publication a filing can be opposed, per office code (EM: EUIPO), else default")


class Settings(_Section):
    image: ImageSettings = ImageSettings()
    model: ModelSettings = ModelSettings()
    text: TextSettings = TextSettings()
    elements: ElementSettings = ElementSettings()
    index: IndexSettings = IndexSettings()
    search: SearchSettings = SearchSettings()
    rerank: RerankSettings = RerankSettings()
    api: ApiSettings = ApiSettings()
    eval: EvalSettings = EvalSettings()
    train: TrainSettings = TrainSettings()
    classification: ClassificationSettings = ClassificationSettings()
    watch: WatchSettings = WatchSettings()
    calibration: CalibrationSettings = CalibrationSettings()
    log_level: Literal["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class ConfigError(ValueError):
    """A config file or override is malformed or has an invalid value."""


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """``LOGO_SIM__MODEL__POOLING=avg`` -> ``{"model": {"pooling": "avg"}}``; values parsed as YAML scalars."""
    tree: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part]
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = yaml.safe_load(raw) if raw else raw
    return tree


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def load_settings(
    config: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build the settings tree from defaults, a YAML file, the environment and explicit overrides."""
    environ = dict(os.environ) if environ is None else environ
    merged: dict[str, Any] = {}
    path = config or environ.get(CONFIG_ENV)
    if path:
        merged = _read_yaml(Path(path))
    merged = _deep_merge(merged, _env_overrides(environ))
    merged = _deep_merge(merged, overrides or {})
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {exc}") from exc
