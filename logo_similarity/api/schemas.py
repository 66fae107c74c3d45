"""Response models: the OpenAPI schema and the shape of every JSON answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorOut(BaseModel):
    detail: Any = Field(description="what is wrong (a list of field errors for a 422 from validation)")
    reason: str = Field(description="machine-readable kind, e.g. corrupt, too_large, unknown_id, busy")


class ComponentScores(BaseModel):
    image: float | None = Field(None, description="cosine similarity of the shapes (embedding)")
    spatial: float | None = Field(None, description="verified local-feature match (share of the query's cells)")
    text: float | None = Field(None, description="name similarity: ALINE phonetic + orthographic")
    vienna: float | None = Field(None, description="Vienna code agreement: 1 section, 2/3 division, 1/3 category")
    figure: float | None = Field(
        None, description="the devices compared without their words: best of figure vs figure, the query's figure vs "
        "the whole mark, the whole query vs the mark's figure (None when neither mark is a composite)",
    )
    nice: float | None = Field(
        None, description="goods and services: 1 when the query's Nice classes share one with the mark's, 0 when "
        "not (None when either is unclassified)")
    composite: float | None = Field(
        None, description="re-ranking score: each component's weighted distance from its neutral point, summed and "
        "blended with the strongest one (reranking/fusion.py)",
    )


class TextSource(BaseModel):
    query: Literal["given", "ocr"] | None = Field(description="the query's name was typed (given) or read by OCR")
    candidate: Literal["name", "ocr"] | None = Field(description="the mark's registered name, or text read from it")
    query_text: str | None
    candidate_text: str | None


class ViennaShared(BaseModel):
    code: str | None = Field(description="the deepest Vienna code (or prefix) query and result share, e.g. 26.01")
    title: str | None = Field(description="its title in the Vienna classification")
    path: list[str] = Field(default_factory=list, description="titles from the category down")


class ViennaCodeOut(BaseModel):
    code: str = Field(description="as stored on the mark")
    title: str | None = Field(description="the deepest title the classification has for it (None if unknown)")
    path: list[str] = Field(default_factory=list, description="titles from the category down")


class MarkElements(BaseModel):
    kind: Literal["figurative", "word", "composite"] = Field(
        description="figurative: no words found; word: the words are (nearly) all of it; composite: a figure and words"
    )
    figure_box: list[int] | None = Field(
        None, description="the figure's ink box [x0, y0, x1, y1] in the mark's own pixels (composites only)"
    )
    text_boxes: list[list[int]] = Field(
        default_factory=list, description="the words' boxes [x0, y0, x1, y1] (or quadrilaterals as 8 numbers)"
    )
    words: list[tuple[str, float]] = Field(
        default_factory=list, description="the words OCR read and how sure it was (empty when the mark's name was given)"
    )


class ElementsMatched(BaseModel):
    matched: Literal["mark", "figure", "words"] | None = Field(
        None, description="the element that gave the most evidence: the whole mark (image), its figure, its words"
    )
    figure_pair: Literal["figure", "figure_vs_mark", "mark_vs_figure"] | None = Field(
        None, description="which pair gave the figure score: both figures, the query's figure vs the whole result, "
        "the whole query vs the result's figure",
    )
    query: MarkElements | None = Field(None, description="what the split found in the query mark")
    candidate: MarkElements | None = Field(None, description="what the split found in this result's mark")


class Explanation(BaseModel):
    text_source: TextSource | None = None
    vienna_shared: ViennaShared | None = None
    elements: ElementsMatched | None = Field(
        None, description="composite marks compared element by element (present when the index stores elements)"
    )
    spatial_pairs: list[list[float]] | None = Field(
        None, description="matched points [query x, query y, result x, result y], fractions of each image's "
        "padded square (the image centred in a square of its longer side)",
    )


class ResultOut(BaseModel):
    rank: int
    id: int
    score: float = Field(description="the fused score: orders one query's results, not comparable across queries")
    conflict_score: float | None = Field(
        None, description="calibrated probability that this pair is a conflict (comparable across queries and "
        "with watch alerts); re-ranked results only")
    tier: Literal["high", "medium", "low"] | None = Field(None, description="from conflict_score (settings calibration)")
    components: ComponentScores
    explanation: Explanation = Explanation()
    name: str | None
    key: str
    vienna_codes: list[str]
    vienna: list[ViennaCodeOut] = Field(default_factory=list, description="the codes with their titles")
    nice_classes: list[int] = Field(default_factory=list)
    year: int | None
    image_url: str


class SearchOut(BaseModel):
    results: list[ResultOut]
    k: int
    reranked: bool
    candidates: int = Field(description="first-stage candidates considered")
    query_text: str | None = Field(None, description="the name the results were compared with")
    query_text_source: Literal["given", "ocr"] | None = Field(None, description="typed, or read from the query image")
    index_version: str
    timings_ms: dict[str, float] = Field(description="per stage: read, decode, preprocess, embed, search, text, ...")


class BatchItemOut(BaseModel):
    position: int = Field(description="the image's place in the request (0-based)")
    filename: str | None = None
    search: SearchOut | None = Field(None, description="its results, as POST /search gives them")
    error: ErrorOut | None = Field(None, description="why this image was not searched (the others were)")


class BatchSearchOut(BaseModel):
    items: list[BatchItemOut]
    index_version: str
    timings_ms: dict[str, float] = Field(description="total: the whole batch")


class ItemOut(BaseModel):
    id: int
    key: str
    name: str | None
    vienna_codes: list[str]
    vienna: list[ViennaCodeOut] = Field(default_factory=list)
    nice_classes: list[int] = Field(default_factory=list)
    ocr_text: str | None = None
    ocr_confidence: float | None = None
    year: int | None
    image_url: str
    index_version: str


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyOut(BaseModel):
    ready: bool
    index_version: str | None = None
    error: str | None = None
    warning: str | None = Field(None, description="set while an earlier version is served (the live one is corrupt)")


class StatsOut(BaseModel):
    items: int
    index_version: str
    index_type: str
    search_params: dict[str, int]
    pca_dim: int | None
    model: dict[str, Any] = Field(description="the model spec the index was built with")
    preprocessing: dict[str, Any]
    swaps: int
    searches_in_flight: int


class AddedOut(BaseModel):
    id: int
    index_version: str


class DeletedOut(BaseModel):
    id: int
    deleted: bool = True
    index_version: str


class JobOut(BaseModel):
    id: str
    kind: str
    state: Literal["pending", "running", "completed", "failed", "cancelled"]
    progress: float = Field(description="0..1")
    done: int
    total: int
    error: str | None
    result: dict[str, Any] | None
    created: float
    started: float | None
    finished: float | None
    attempts: int = Field(0, description="runs so far (a job a restart interrupted runs again)")


class RunOut(BaseModel):
    id: int
    watch_id: int
    state: Literal["running", "done", "cancelled", "failed", "interrupted"]
    source: str
    started: float
    finished: float | None
    filings: int = Field(description="in the source")
    compared: int
    already: int = Field(description="compared by an earlier run against the same marks: not again")
    skipped: int
    alerts_new: int
    suppressed: int = Field(description="pairs an exception rule suppressed")
    error: str | None = None
    skipped_filings: list[dict[str, str]] | None = Field(None, description="{filing, reason, message} (one run)")


class WatchOut(BaseModel):
    id: int
    name: str
    client: str
    created: float
    min_score: float
    min_conflict: float | None
    marks: int
    exceptions: dict[str, Any]
    runs: int
    last_run: RunOut | None


class AlertOut(BaseModel):
    id: int
    state: Literal["new", "reviewing", "dismissed", "opposed", "suppressed"]
    score: float = Field(description="the fused score of the pair")
    conflict_score: float | None = Field(None, description="calibrated probability that the pair is a conflict")
    tier: Literal["high", "medium", "low"] | None = None
    mark: dict[str, Any] = Field(description="the watched mark")
    filing: dict[str, Any] = Field(description="the filing, with its publication and opposition deadline")
    filing_key: str
    mark_id: int
    rank_for_filing: int | None = None
    components: dict[str, float | None] = Field(default_factory=dict)
    nice_shared: list[int] = Field(default_factory=list)
    suppressed_by: str | None = None
    explanation: dict[str, Any] = Field(default_factory=dict)
    first_run: int
    last_run: int
    updated: float


class TriageIn(BaseModel):
    state: Literal["new", "reviewing", "dismissed", "opposed"]


class ItemEdit(BaseModel):
    """The fields to correct; a field left out stays as it is, a null clears it."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200, description="the mark's verbal element")
    vienna_codes: list[str] | None = Field(None, max_length=100, description='e.g. ["27.05.01", "26.01.03"]')
    nice_classes: list[int] | None = Field(None, max_length=45, description="goods and services classes, 1-45")
    year: int | None = Field(None, ge=0, le=9999)


class EditedOut(BaseModel):
    id: int
    changed: bool = Field(description="false when every named field already had that value (no new version)")
    index_version: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text} for code, text in {
        400: "malformed request (e.g. broken multipart body)", 401: "missing or wrong API key",
        404: "unknown item or job", 409: "a rebuild is running", 413: "request body over the size limit",
        415: "not a form upload, or an image format that is not supported", 422: "invalid parameter or image",
        503: "index not loaded yet, or too many searches in flight (see Retry-After)",
    }.items()
}
