from logo_similarity.text.ocr import OcrResult
from logo_similarity.text.read_name import name_from_ocr, name_variants


def test_only_confident_words_with_enough_letters_make_a_name():
    result = OcrResult(boxes=[(0, 0, 1, 1)] * 4, texts=["R", "NOVA", "blurb", "Beta"], confidences=[1.0, 0.9, 0.2, 0.8])
    read = name_from_ocr(result, min_confidence=0.5, min_letters=3)
    assert read.text == "NOVA Beta" and read.words == ["NOVA", "Beta"] and read.confidence == 0.8
    assert name_from_ocr(OcrResult(texts=["4", "®"], confidences=[0.9, 0.9]), 0.5, 3) is None
    assert name_from_ocr(OcrResult(), 0.5, 3) is None


def test_unnamed_marks_are_searchable_by_the_text_read_from_them(default_embedder, settings, tmp_path):
    from logo_similarity.datasets import LogoRecord
    from logo_similarity.synthetic import render_text_logo
    from logo_similarity.indexing import BuildRequest, build_index, stage2_data
    from logo_similarity.search import Query, run_query

    records = []
    for i, word in enumerate(["NOVA", "ORBIT", "LUMEN"]):
        path = tmp_path / f"{i}.png"
        render_text_logo(word, seed=i, shape=False, size=44).save(path)
        records.append(LogoRecord(f"k{i}", path, text="Registered Name" if word == "LUMEN" else None))
    index, _ = build_index(BuildRequest(records, image=settings.image, stage2=stage2_data(default_embedder, settings)),
                           default_embedder)
    read = {m["key"]: m.get("ocr_text") for m in index.metadata.values()}
    assert read == {"k0": "NOVA", "k1": "ORBIT", "k2": None}  # a named mark is not read: its name is the name
    hit = run_query(index, None, Query(text="ORBITT", k=1), settings).results[0]
    assert hit.key == "k1" and hit.components["text"] > 0.8
    assert hit.explanation["text_source"]["candidate"] == "ocr"


def test_a_read_name_is_compared_whole_and_by_its_longest_words():
    assert name_variants("NOVA") == ["NOVA"]
    assert name_variants("clerk Beta") == ["clerk Beta", "clerk", "Beta"]
    assert name_variants("a bb Community Forum Team") == ["a bb Community Forum Team", "Community", "Forum"]
