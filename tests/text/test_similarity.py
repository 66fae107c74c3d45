import math

import numpy as np
import pytest

from logo_similarity.text.similarity import levenshtein_batch, text_similarity, text_similarity_many
from logo_similarity.text.aline import encode

from logo_similarity.config import TextSettings

W = TextSettings().phonetic_weight  # the configured ALINE share


@pytest.mark.parametrize(
    "a, b, low, high",
    [
        ("kodak", "kodac", 0.8, 1.0),
        ("KODAK", "Kodac", 0.8, 1.0),
        ("nike", "nyke", 0.8, 1.0),
        ("xerox", "zerox", 0.75, 1.0),
        ("Levi's", "LEVIS", 0.99, 1.0),
        ("coca cola", "koka kola", 0.65, 1.0),
        ("nike", "adidas", 0.0, 0.4),
        ("google", "yahoo", 0.0, 0.3),
        ("starbucks", "pepsi", 0.0, 0.4),
    ],
)
def test_similarity_table(a, b, low, high):
    value = text_similarity(a, b, W)
    assert low <= value <= high, value


def test_sound_alikes_rank_above_unrelated():
    assert text_similarity("kodak", "kodac", W) > text_similarity("kodak", "konica", W) > text_similarity("kodak", "pepsi", W)


@pytest.mark.parametrize("a, b", [("nike", None), (None, "nike"), ("", "nike"), ("nike", "!!!"), (None, None)])
def test_missing_text_is_none_not_zero(a, b):
    assert text_similarity(a, b, W) is None


def test_batch_marks_missing_as_nan():
    out = text_similarity_many("kodak", ["kodac", None, "", "pepsi"], W)
    assert out[0] > 0.8 and math.isnan(out[1]) and math.isnan(out[2]) and 0 <= out[3] < 0.5
    assert np.isnan(text_similarity_many(None, ["kodak"], W)).all()


def test_symmetric_enough():
    assert text_similarity("apple", "appel", W) == pytest.approx(text_similarity("appel", "apple", W), abs=1e-9)


@pytest.mark.parametrize("a, b, d", [("kitten", "sitting", 3), ("abc", "abc", 0), ("", "abc", 3), ("flaw", "lawn", 2)])
def test_levenshtein_table(a, b, d):
    q, ql = encode([a or "x"])
    c, cl = encode([b or "x"])
    if not a:
        ql = np.array([0])
    if not b:
        cl = np.array([0])
    assert levenshtein_batch(q, int(ql[0]), c, cl)[0] == d


def test_one_length_rule_for_long_names_whichever_way_a_mark_is_found():
    """The name index and direct scoring give a long name the same score (both compare the first 32 letters)."""
    import numpy as np

    from logo_similarity.text.name_index import NameIndex
    from logo_similarity.text.similarity import MAX_LETTERS, text_similarity_many

    names = ["KODAK", "THE ORIGINAL AMERICAN COFFEE ROASTING COMPANY OF SEATTLE", "A" * 40 + "B", "x" * 50]
    query = "THE ORIGINAL AMERICAN COFFEE ROASTERS"
    direct = text_similarity_many(query, names, W)
    indexed = NameIndex(list(range(len(names))), names, W).score_rows(query, np.arange(len(names)))[0]
    np.testing.assert_allclose(direct, indexed)
    assert text_similarity_many("A" * 45, ["A" * MAX_LETTERS + "ZZZZ"], W)[0] == 1.0  # letters past 32 are not compared
