import pytest

from logo_similarity.retrieval.filters import ItemFilter, vienna_matches


@pytest.mark.parametrize("codes,prefix,expected", [
    (["27.05.01"], "27", True), (["27.05.01"], "27.05", True), (["27.05.01"], "27.05.01", True),
    (["27.05.01"], "27.5", False), (["27.051.01"], "27.05", False), (["26.01.03", "27.05.01"], "27.05", True),
    ([], "27", False),
])
def test_vienna_prefix_on_dot_boundaries(codes, prefix, expected):
    assert vienna_matches(codes, prefix) is expected


def test_item_filter():
    meta = {"vienna_codes": ["26.01.03"], "year": 2010}
    assert ItemFilter().accepts(meta) and not ItemFilter().active
    assert ItemFilter("26.01", 2005, 2010).accepts(meta)
    assert not ItemFilter(year_from=2011).accepts(meta)
    assert not ItemFilter(year_to=2009).accepts(meta)
    assert not ItemFilter(year_from=2000).accepts({"vienna_codes": [], "year": None})  # unknown year: out
    with pytest.raises(ValueError, match="prefix"):
        ItemFilter("x")
    with pytest.raises(ValueError, match="after"):
        ItemFilter(year_from=2020, year_to=2000)


@pytest.mark.parametrize("code", ["27", "27.05", "27.05.01", "27.05.01.02", "3.1.2", "27.5", "x", "27.", "27.05.01.02.03",
                                  "270.05", "27.x5", ""])
def test_one_vienna_code_definition_for_datasets_filters_and_the_api(code, tmp_path):
    """The API accepts a code exactly when a dataset may contain it and a filter may name it."""
    import json

    from logo_similarity.api.errors import BadQuery
    from logo_similarity.api.deps import vienna_code_list
    from logo_similarity.datasets import DatasetError, read_dataset

    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "m.jsonl").write_text(json.dumps({"file": "a.png", "vienna_codes": [code]}) + "\n")
    try:
        read_dataset(tmp_path / "m.jsonl")
        dataset_ok = True
    except DatasetError:
        dataset_ok = False
    try:
        ItemFilter(vienna=code)
        filter_ok = True
    except ValueError:
        filter_ok = False
    try:
        api_ok = vienna_code_list(code) == [code]
    except BadQuery:
        api_ok = False
    assert dataset_ok == filter_ok == api_ok, (dataset_ok, filter_ok, api_ok)
