"""Settings of what runs the pipeline: the API, evaluation, training, classification, the watch service."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from logo_similarity.config.sections import _Section


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
