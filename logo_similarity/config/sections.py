"""Settings of the pipeline's stages, in its order: image, model, text (OCR), elements, index, search, re-ranking,
calibration. One frozen pydantic model per section; ``settings.py`` puts them together and loads them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
