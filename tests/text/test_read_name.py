from logo_similarity.text.ocr import OcrResult
from logo_similarity.text.read_name import name_from_ocr


def test_only_confident_words_with_enough_letters_make_a_name():
    result = OcrResult(boxes=[(0, 0, 1, 1)] * 4, texts=["R", "NOVA", "blurb", "Beta"], confidences=[1.0, 0.9, 0.2, 0.8])
    read = name_from_ocr(result, min_confidence=0.5, min_letters=3)
    assert read.text == "NOVA Beta" and read.words == ["NOVA", "Beta"] and read.confidence == 0.8
    assert name_from_ocr(OcrResult(texts=["4", "®"], confidences=[0.9, 0.9]), 0.5, 3) is None
    assert name_from_ocr(OcrResult(), 0.5, 3) is None
