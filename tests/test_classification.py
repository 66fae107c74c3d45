"""The Vienna table (shipped and a user's file over it) and the Nice class parser."""

import pytest

from logo_similarity.classification import ViennaFileError, canonical, load_vienna, parse_nice
from logo_similarity.indexing.edits import EditError, clean_edit


def test_shipped_vienna_table():
    table = load_vienna()
    categories = [e for e in table.entries.values() if e.level == 1]
    assert len(categories) == 29 and len(table.entries) > 150
    assert canonical("5.3.1") == "05.03.01" and table.title("24.3") == "Seals, stamps"
    assert table.describe("1.1.2") == "01.01.02 Celestial bodies, natural phenomena, geographical maps > Stars, comets"
    assert table.problem("30.01.01") and table.problem("26.06.01") and table.problem("27.x") is not None
    assert table.problem("27.99.01") is None  # category 27's divisions are not shipped as complete: not refused


def test_a_users_file_adds_sections_and_is_complete_for_its_categories(tmp_path):
    wipo = tmp_path / "vienna.tsv"
    wipo.write_text("26\tGEOMETRICAL FIGURES AND SOLIDS\n26.1\tCIRCLES, ELLIPSES\n26.1.1\tCircles\n"
                    "27\tFORMS OF WRITING, NUMERALS\n27.5\tLETTERS PRESENTING A SPECIAL GRAPHIC FORM\n"
                    "27.5.1\tLetters presenting a special graphic form\n")
    table = load_vienna(str(wipo))
    assert table.title("26.01.01") == "Circles" and table.title("26.1") == "Circles, ellipses"
    assert table.problem("26.01.02")  # the user's file lists the sections of 26.01: 26.01.02 is not one
    assert table.problem("27.99.01")  # and now category 27 is complete too
    assert table.title("01.01") == "Stars, comets"  # the shipped rest stays
    bad = tmp_path / "bad.tsv"
    bad.write_text("26.1\tCircles\nnot a line\n")
    with pytest.raises(ViennaFileError, match="line 2"):
        load_vienna(str(bad))
    with pytest.raises(ViennaFileError, match="cannot read"):
        load_vienna(str(tmp_path / "none.tsv"))


def test_nice_classes_and_edit_values():
    assert parse_nice("9, 42,9") == {9, 42} and parse_nice(None) == frozenset()
    for bad in ("0", "46", "x", "9;42"):
        with pytest.raises(ValueError, match="1 to 45"):
            parse_nice(bad)
    assert clean_edit({"name": "  Acme  ", "nice_classes": [42, 9, 9], "vienna_codes": ["26.1.1", "26.1.1"]}) == {
        "text": "Acme", "nice_classes": [9, 42], "vienna_codes": ["26.1.1"]}
    assert clean_edit({"name": "", "year": None}) == {"text": None, "year": None}  # clearing a field
    for change, message in [({"colour": 1}, "cannot be edited"), ({}, "at least one"), ({"year": "2016"}, "year"),
                            ({"year": True}, "year"), ({"vienna_codes": "26.01.01"}, "list"),
                            ({"vienna_codes": ["31.01.01"]}, "category 31"), ({"name": 5}, "string")]:
        with pytest.raises(EditError, match=message):
            clean_edit(change)
