"""Composite marks split into figure and words (real OCR on rendered marks), and searched element by element."""

import numpy as np
import pytest
from PIL import Image

from logo_similarity.datasets import LogoRecord
from logo_similarity.indexing import build_with_settings
from logo_similarity.preprocessing.elements import element_reader, split_elements
from logo_similarity.search.features import query_features
from logo_similarity.search.query import Query, run_query
from logo_similarity.synthetic import render_composite, render_text_logo
from logo_similarity.text.ocr import OcrResult
from tests.conftest import COLOURS, KINDS, draw_logo

WORDS = ["Kastrino", "Belmora", "Duvantel", "Florispo", "Gorvinta", "Hamelot", "Jorvesta", "Lumidor"]


def _ink_box(image: Image.Image) -> tuple[int, int, int, int]:
    return Image.eval(image.convert("L"), lambda v: 255 if v < 245 else 0).getbbox()


def test_a_word_dominant_composite_splits_into_its_emblem_and_its_words(settings):
    device = draw_logo("star", COLOURS[1])
    mark = render_composite(device, "Kastrino", "word")
    parts = element_reader(settings)(mark, recognize=True)
    assert parts.kind == "composite"
    x0, y0, x1, y1 = parts.figure_box
    ex0, ey0, ex1, ey1 = _ink_box(mark.crop((0, 0, 256, 128)))  # the emblem sits above the words
    assert abs(x0 - ex0) <= 3 and abs(x1 - ex1) <= 3 and abs(y0 - ey0) <= 3 and abs(y1 - ey1) <= 3
    assert "kastrino" in " ".join(parts.ocr.texts).lower()
    # re-fitted like any logo: the emblem (48 px in the mark) fills the figure's canvas as a plain device would
    fx0, fy0, fx1, fy1 = _ink_box(parts.figure)
    assert max(fx1 - fx0, fy1 - fy0) / parts.figure.width == pytest.approx(settings.elements.figure_fit, abs=0.03)


def test_kinds_figurative_word_and_what_the_split_is_without_text(settings):
    reader = element_reader(settings)
    assert reader(draw_logo("ring", COLOURS[0])).kind == "figurative"
    assert reader(render_text_logo("BELMORA", shape=False, seed=3)).kind == "word"
    # no text found: figurative, whatever the image, and no figure (the whole mark is the figure)
    plain = split_elements(draw_logo("star", COLOURS[2]), OcrResult(), settings.elements, settings.text)
    assert plain.kind == "figurative" and plain.figure is None
    # a lone glyph CRAFT finds in a device is not a word: nothing is masked
    glyph = OcrResult(boxes=[(90, 90, 110, 112)], texts=["4"], confidences=[0.9])
    assert split_elements(draw_logo("star", COLOURS[2]), glyph, settings.elements, settings.text).kind == "figurative"


def test_words_painted_over_or_inpainted_leave_the_same_figure(settings):
    """The default fill (the background colour over the word boxes) and inpainting cut out the same emblem when
    the words sit apart from it; the fill leaves nothing of the words."""
    mark = render_composite(draw_logo("star", COLOURS[1]), "Kastrino", "word")
    ocr = element_reader(settings)(mark).ocr
    assert settings.elements.word_fill == "background"
    filled = split_elements(mark, ocr, settings.elements, settings.text)
    inpainted = split_elements(mark, ocr, settings.elements.model_copy(update={"word_fill": "inpaint"}), settings.text)
    assert filled.kind == inpainted.kind == "composite"
    assert np.abs(np.subtract(filled.figure_box, inpainted.figure_box)).max() <= 2
    assert filled.figure.size == inpainted.figure.size
    a, b = (np.asarray(p.figure.convert("L"), dtype=np.int16) for p in (filled, inpainted))
    assert np.abs(a - b).mean() < 3
    from logo_similarity.preprocessing.text_mask import fill_text

    painted = np.asarray(fill_text(mark, ocr, 0, np.array([255, 255, 255])))
    for x0, y0, x1, y1 in ocr.boxes:
        assert (painted[y0:y1, x0:x1] == 255).all()


@pytest.fixture(scope="module")
def element_index(tmp_path_factory, default_embedder, settings):
    """Plain devices, composites of other devices with words, and word marks."""
    root = tmp_path_factory.mktemp("elements")
    records = []
    for i, kind in enumerate(KINDS[:8]):  # plain devices
        draw_logo(kind, COLOURS[i % 6]).save(root / f"plain_{kind}.png")
        records.append(LogoRecord(f"plain:{kind}", root / f"plain_{kind}.png"))
    for i, kind in enumerate(KINDS[8:]):  # composites of the other devices, both styles
        mark = render_composite(draw_logo(kind, COLOURS[i % 6]), WORDS[i], "word" if i % 2 else "device")
        mark.save(root / f"comp_{kind}.png")
        records.append(LogoRecord(f"comp:{kind}", root / f"comp_{kind}.png", WORDS[i]))
    for i, word in enumerate(WORDS[4:]):  # word marks
        render_text_logo(word.upper(), shape=False, seed=i).save(root / f"word_{i}.png")
        records.append(LogoRecord(f"word:{i}", root / f"word_{i}.png", word.upper()))
    index, _ = build_with_settings(records, default_embedder, settings, factory="Flat", stage2=True)
    return index, root


def test_the_split_is_the_same_at_index_and_at_query_time(element_index, default_embedder, settings):
    index, root = element_index
    assert index.figures is not None and len(index.figures) >= 3
    key_to_id = {m["key"]: i for i, m in index.metadata.items()}
    for key in ("comp:wave", "comp:key", "plain:ring"):
        image = Image.open(root / f"{key.replace(':', '_')}.png").convert("RGB")
        features = query_features(index, default_embedder, Query(image=image), settings, rerank=True)
        stored = index.metadata[key_to_id[key]]["elements"]
        assert features.elements["kind"] == stored["kind"]
        assert features.elements["figure_box"] == stored["figure_box"]
        assert features.elements["text_boxes"] == stored["text_boxes"]
        present, vectors = index.figures.take([key_to_id[key]])
        if stored["kind"] == "composite":
            assert present[0] and np.allclose(vectors[0], features.figure, atol=1e-5)
        else:
            assert not present[0] and features.figure is None


def test_the_figure_of_a_word_dominant_composite_finds_its_plain_device(element_index, default_embedder, settings):
    index, _ = element_index
    for i, kind in enumerate(("star", "bars", "target")):  # plain devices of the gallery under new words
        device = draw_logo(kind, COLOURS[KINDS.index(kind) % 6])
        query = render_composite(device, ["Quorindel", "Vastrelon", "Mirabolt"][i], "word", above=i % 2 == 0)
        outcome = run_query(index, default_embedder, Query(image=query, k=5), settings)
        top = outcome.results[0]
        assert top.key == f"plain:{kind}", [r.key for r in outcome.results]
        assert top.components["figure"] > top.components["image"]  # found by its figure, not by the whole mark
        assert top.explanation["elements"]["figure_pair"] == "figure_vs_mark"
        assert top.explanation["elements"]["query"]["kind"] == "composite"


def test_a_word_mark_keeps_its_rank(element_index, default_embedder, settings):
    index, root = element_index
    without = settings.model_copy(update={"elements": settings.elements.model_copy(update={"enabled": False})})
    for i in range(4):
        image = Image.open(root / f"word_{i}.png").convert("RGB")
        on = run_query(index, default_embedder, Query(image=image, k=10), settings).results
        off = run_query(index, default_embedder, Query(image=image, k=10), without).results
        rank_on = next(r.rank for r in on if r.key == f"word:{i}")
        rank_off = next(r.rank for r in off if r.key == f"word:{i}")
        assert rank_on == rank_off == 1
        assert next(r for r in on if r.key == f"word:{i}").components.get("figure") is None  # missing, not zero


def test_figures_survive_save_load_add_delete_and_a_cached_rebuild(tmp_path, default_embedder, settings):
    from logo_similarity.indexing.update import add_items, delete_items
    from logo_similarity.preprocessing.elements import element_reader
    from logo_similarity.retrieval.index import SearchIndex

    records = []
    for i, kind in enumerate(KINDS[:3]):
        render_composite(draw_logo(kind, COLOURS[i]), WORDS[i], "word").save(tmp_path / f"c{i}.png")
        records.append(LogoRecord(f"c{i}", tmp_path / f"c{i}.png", WORDS[i]))
    cache = tmp_path / "cache.sqlite"
    index, report = build_with_settings(records, default_embedder, settings, factory="Flat", cache=cache)
    assert len(index.figures) == 3 and report.cached == 0
    root = tmp_path / "index"
    index.save(root)
    loaded = SearchIndex.load(root)
    assert len(loaded.figures) == 3
    np.testing.assert_allclose(loaded.figures.take([0, 1, 2])[1], index.figures.take([0, 1, 2])[1])

    render_composite(draw_logo("grid", COLOURS[4]), "Zentaril", "device").save(tmp_path / "new.png")
    added = add_items(root, [LogoRecord("new", tmp_path / "new.png", "Zentaril")], default_embedder, settings.image,
                      elements=element_reader(settings))
    after_add = SearchIndex.load(root)
    assert added.added[0] in after_add.figures and after_add.metadata[added.added[0]]["elements"]["kind"] == "composite"
    delete_items(root, [1])
    after_delete = SearchIndex.load(root)
    assert 1 not in after_delete.figures and len(after_delete.figures) == 3

    again, report = build_with_settings(records, default_embedder, settings, factory="Flat", cache=cache)
    assert report.cached == 3  # the figures came from the cache, not from a second OCR and embedding
    np.testing.assert_allclose(again.figures.take([0, 1, 2])[1], index.figures.take([0, 1, 2])[1])


def test_queries_and_later_marks_are_cut_as_the_index_recorded(element_index, tmp_path, default_embedder, settings):
    """The index records how its figures were cut (detector, its size, word fill); a process whose settings differ
    still cuts a query's figure, and a mark added later, that way."""
    from logo_similarity.preprocessing.elements import element_reader, split_descriptor
    from logo_similarity.retrieval import SearchIndex

    index, _ = element_index
    assert index.figures.split == split_descriptor(settings.text, settings.elements)
    index.save(tmp_path / "index")
    loaded = SearchIndex.load(tmp_path / "index")
    assert loaded.figures.split == index.figures.split and loaded.manifest()["figures"]["split"] == index.figures.split

    other = settings.model_copy(update={"text": settings.text.model_copy(update={"detector": "ppocr", "detector_size": 192}),
                                        "elements": settings.elements.model_copy(update={"word_fill": "inpaint"})})
    reader = element_reader(other).cutting_as(loaded.figures.split)
    assert split_descriptor(reader.text, reader.elements) == index.figures.split
    assert reader.text.phonetic_weight == other.text.phonetic_weight  # only what cuts figures is taken
    assert element_reader(other).cutting_as(None) == element_reader(other)  # an index from before the record

    from logo_similarity.search import Query
    from logo_similarity.search.features import query_features

    query = Query(image=Image.open(element_index[1] / f"comp_{KINDS[8]}.png").convert("RGB"), k=5)
    as_built = query_features(index, default_embedder, query, settings, True)
    elsewhere = query_features(index, default_embedder, query, other, True)
    assert as_built.figure is not None and elsewhere.elements == as_built.elements
    np.testing.assert_allclose(elsewhere.figure, as_built.figure, atol=1e-6)
