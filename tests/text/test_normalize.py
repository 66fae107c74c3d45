import pytest

from logo_similarity.text.normalize import canonical_text, number_words, phonetic_letters


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("KODAK", "kodak"),
        ("  Coca-Cola®  ", "coca cola"),
        ("Häagen-Dazs", "haagen dazs"),
        ("L'Oréal Paris", "l oreal paris"),
        ("H&M", "h and m"),
        ("7-Eleven", "seven eleven"),
        ("Forever 21", "forever twenty one"),
        ("24/7", "twenty four seven"),
        ("Studio 1984", "studio one thousand nine hundred eighty four"),
        ("007", "zero zero seven"),
        ("Straße", "strasse"),
        ("Google+", "google plus"),
        ("", ""),
        (None, ""),
        ("!!!", ""),
    ],
)
def test_canonical_text(raw, expected):
    assert canonical_text(raw) == expected


def test_phonetic_letters_joins_words():
    assert phonetic_letters("Coca-Cola 2") == "cocacolatwo"


@pytest.mark.parametrize("n, words", [(0, "zero"), (13, "thirteen"), (40, "forty"), (101, "one hundred one"),
                                      (2016, "two thousand sixteen")])
def test_number_words(n, words):
    assert number_words(n) == words
