import random

import numpy as np

from logo_similarity.text.name_index import NameIndex, sound_key

from logo_similarity.config import TextSettings

TEXT = TextSettings()


def distractors(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    onsets, vowels = "bdfglmnprstvz", "aeiou"
    return ["".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(2, 4))).capitalize() for _ in range(n)]


def test_sound_key_groups_sound_alikes():
    assert sound_key("Kodak") == sound_key("Codac") == sound_key("KODACK")
    assert sound_key("Nike") == sound_key("Nyke")
    assert sound_key("Nike") != sound_key("Adidas")


def test_finds_a_sound_alike_among_distractors():
    names = distractors(5000) + ["Kodak", "Konica", "Nikon"]
    index = NameIndex(np.arange(100, 100 + len(names)), names, TEXT.phonetic_weight)
    hits = index.search("KODAC", 5, TEXT.name_candidates)
    assert hits[0].name == "Kodak" and hits[0].id == 100 + names.index("Kodak")
    assert hits[0].score > 0.8 and hits[0].phonetic > hits[0].orthographic
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_preselection_contains_the_brute_force_best():
    names = distractors(3000, seed=1) + ["Zerox"]
    index = NameIndex(np.arange(len(names)), names, TEXT.phonetic_weight)
    for query in ("Xerox", "Bedalo", "Tinamo"):
        best = index.brute_force_aline(query, 1)[0]
        assert best in set(index.preselect(query, TEXT.name_candidates).tolist())


def test_empty_query_and_empty_names():
    index = NameIndex([1, 2, 3], ["", "Kodak", "!!"], TEXT.phonetic_weight)
    assert index.search("", 20, TEXT.name_candidates) == []
    assert [h.id for h in index.search("kodak", 20, TEXT.name_candidates)] == [2]


def test_aline_pass_recalls_what_ngrams_alone_miss():
    """The second pass ranks the n-gram candidates by ALINE: with a budget far smaller than the n-gram pool it
    keeps ALINE's best, where the n-gram order alone (no rescore) drops some."""
    names = distractors(6000, seed=4)
    index = NameIndex(np.arange(len(names)), names, TEXT.phonetic_weight)
    queries = distractors(40, seed=9)
    alone = with_pass = 0
    for query in queries:
        truth = set(index.brute_force_aline(query, 10).tolist())
        alone += len(truth & set(index.preselect(query, 50).tolist()))
        with_pass += len(truth & set(index.preselect(query, 50, rescore=len(names)).tolist()))
    assert with_pass == 10 * len(queries) > alone


def test_stored_name_index_answers_as_a_fresh_one(tmp_path):
    names = distractors(3000, seed=2) + ["Kodak", "", "Xerox", "Nikon"]
    fresh = NameIndex(np.arange(7, 7 + len(names)), names, TEXT.phonetic_weight)
    fresh.save(tmp_path / "names.npz")
    stored = NameIndex.load(tmp_path / "names.npz", TEXT.phonetic_weight)
    assert stored.names == fresh.names and len(stored) == len(fresh)
    for query in ("KODAC", "Zerox", "Bedalo", "nicon", ""):
        assert stored.search(query, 20, 200, 1000) == fresh.search(query, 20, 200, 1000)
        np.testing.assert_array_equal(stored.preselect(query, 200), fresh.preselect(query, 200))


def test_similarity_from_columns_equals_scoring_the_names_afresh(tmp_path):
    """Stage 2 scores candidates' names from the name index's encoded columns; the same numbers as encoding
    the names again (``text_similarity_many``), ids without a name NaN, in any id order, also after a reload."""
    from logo_similarity.text.similarity import text_similarity_many

    rng = random.Random(3)
    words = ["kodak", "codac", "nike", "naik", "apple", "studio kodak", "x", "--", "a-1", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"]
    ids = rng.sample(range(10_000), len(words))  # not sorted
    built = NameIndex(ids, words, phonetic_weight=0.7)
    path = tmp_path / "names.npz"
    built.save(path)
    for index in (built, NameIndex.load(path, 0.7)):
        asked = [ids[4], 99_999, ids[0], ids[9], ids[7], -1, ids[1], ids[6]]
        rows = index.rows_of(asked)
        assert (rows[[1, 5]] == -1).all() and (rows[[0, 2, 3, 4, 6, 7]] >= 0).all()
        for query in ("kodack", "nyke", "studio", "1"):
            expected = text_similarity_many(query, [dict(zip(ids, words)).get(i) for i in asked], 0.7)
            np.testing.assert_array_equal(index.similarity(query, rows), expected)
        assert np.isnan(index.similarity("--", rows)).all()
