"""Our ALINE against abydos (the reference implementation) on the same lower-cased letters."""

import random

import numpy as np
import pytest

from tests.support.abydos_compat import import_abydos_distance
from logo_similarity.text.aline import aline_similarity, encode, self_scores
from logo_similarity.text.normalize import phonetic_letters

SYLLABLES = ["ka", "ko", "ri", "tan", "mel", "zo", "pi", "nex", "ul", "dra", "sun", "vi", "lo", "ber", "go", "fa",
             "qu", "wy", "ch", "sh", "ph", "j", "x", "ee", "oo", "ai"]
BRANDS = ["Kodak", "Kodac", "Nike", "Nyke", "Adidas", "Coca-Cola", "Koka Kola", "Pepsi", "Starbucks", "Xerox",
          "Zerox", "Häagen-Dazs", "L'Oréal", "7-Eleven", "H&M", "IKEA", "", "A", "Qwertz", "Schweppes"]


@pytest.fixture(scope="module")
def oracle():
    return import_abydos_distance().ALINE()


def corpus(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    names = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(n)]
    return names + BRANDS


def test_matches_abydos_on_1200_pairs(oracle):
    names = corpus(400)
    rng = random.Random(1)
    pairs = [(rng.choice(names), rng.choice(names)) for _ in range(1200)]
    ours = np.array([aline_similarity(a, [b])[0] for a, b in pairs])
    ref = np.array([oracle.sim(phonetic_letters(a), phonetic_letters(b)) for a, b in pairs])
    assert np.abs(ours - ref).max() <= 1e-9
    assert ref.std() > 0.1  # the corpus exercises the whole range, not a constant


def test_one_query_against_many_matches_pairwise(oracle):
    names = corpus(200, seed=3)
    ours = aline_similarity("Kodakia", names)
    ref = [oracle.sim("kodakia", phonetic_letters(n)) for n in names]
    np.testing.assert_allclose(ours, ref, atol=1e-9, rtol=0)


def test_known_values_from_the_reference_docs():
    assert aline_similarity("cat", ["hat"])[0] == pytest.approx(1 - 0.4117647058823529)
    assert aline_similarity("niall", ["neil"])[0] == pytest.approx(1 - 0.33333333333333337)


def test_capitals_are_letters_not_modifiers(oracle):
    # abydos reads "N" as a nasal modifier; our rule lower-cases first, on both sides.
    assert aline_similarity("NIKE", ["nike"])[0] == pytest.approx(1.0)
    assert oracle.sim("NIKE", "nike") != pytest.approx(1.0)


def test_self_scores_by_length_groups(oracle):
    names = corpus(50, seed=5)
    codes, lengths = encode(names)
    ours = self_scores(codes, lengths)
    ref = [oracle.sim_score(phonetic_letters(n), phonetic_letters(n)) for n in names]
    np.testing.assert_allclose(ours, ref, atol=1e-9)


def test_compiled_kernel_equals_the_numpy_programme():
    from logo_similarity.text.aline import aline_scores
    from logo_similarity.text.aline_jit import aline_raw_scores

    names = corpus(300, seed=7) + ["", "a", "x" * 32]
    codes, lengths = encode(names, width=32)
    for query in ("Kodakia", "x", "schwarzkopf professional"):
        q_codes, q_len = encode([query], width=32)
        q = q_codes[:, : int(q_len[0])]
        reference = aline_scores(q, codes)  # padding scores -inf, so each row's own length is respected
        np.testing.assert_array_equal(aline_raw_scores(q_codes, int(q_len[0]), codes, lengths), reference)
        rows = np.array([5, 2, 300, 301])
        np.testing.assert_array_equal(aline_raw_scores(q_codes, int(q_len[0]), codes, lengths, rows), reference[rows])
    diag = [aline_scores(codes[i : i + 1, : max(1, n)], codes[i : i + 1, : max(1, n)])[0] for i, n in enumerate(lengths)]
    np.testing.assert_array_equal(self_scores(codes, lengths)[lengths > 0], np.array(diag)[lengths > 0])
