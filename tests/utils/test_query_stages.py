"""A query's stopwatch laps grouped into the stages a profile reports."""

from logo_similarity.utils.timing import query_stages, stage_percentiles


def test_laps_are_grouped_and_stage_two_split_into_spatial_text_and_the_rest():
    laps = {"decode": 1.0, "preprocess": 2.0, "embed": 10.0, "ocr": 30.0, "figure": 5.0, "search": 1.5,
            "figures": 0.5, "names": 2.0, "rerank": 20.0, "rerank.spatial": 8.0, "rerank.text": 4.0}
    assert query_stages(laps) == {"decode": 1.0, "ocr": 30.0, "embed": 17.0, "stage1": 4.0, "spatial": 8.0,
                                  "text": 4.0, "fuse": 8.0}
    # a stage-1 query has no stage 2: its stages are zero, not missing
    assert query_stages({"embed": 3.0, "search": 1.0})["fuse"] == 0.0


def test_percentiles_per_stage():
    split = stage_percentiles([{"ocr": float(i), "rerank": 2.0 * i} for i in range(1, 102)])
    assert split["ocr"]["p50"] == 51.0 and split["fuse"]["p50"] == 102.0 and split["ocr"]["p99"] == 100.0
