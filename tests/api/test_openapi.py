"""The OpenAPI document is part of the API's contract: it changes only on purpose.

``tests/api/openapi.json`` is the document of an app made with the default settings (and a key). A change of
a route, a parameter or a schema fails here until the committed copy is regenerated deliberately:

    python -m tests.api.test_openapi   # rewrites tests/api/openapi.json
"""

from __future__ import annotations

import json
from pathlib import Path

from logo_similarity.api import create_app
from logo_similarity.config import load_settings

SNAPSHOT = Path(__file__).with_name("openapi.json")


def openapi_document(index_dir: Path) -> dict:
    # made, not served: the app loads its index only when it starts, so no index is needed for the document
    settings = load_settings(overrides={"api": {"api_key": "k" * 32}}, environ={})
    return create_app(settings, index_dir=index_dir).openapi()


def test_openapi_document_is_the_committed_one(tmp_path):
    document = openapi_document(tmp_path / "index")
    expected = json.loads(SNAPSHOT.read_text())
    assert document == expected, (
        "the OpenAPI document changed; if on purpose, regenerate it: python -m tests.api.test_openapi")
    # the same order too (paths, methods, fields): a reader diffing two versions sees only real changes
    assert json.dumps(document, indent=1) == json.dumps(expected, indent=1)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        SNAPSHOT.write_text(json.dumps(openapi_document(Path(folder) / "index"), indent=1) + "\n")
    print(f"wrote {SNAPSHOT}")
