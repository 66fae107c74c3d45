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
