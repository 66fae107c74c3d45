"""The package's data flow is one way: no subpackage imports one that (directly or not) imports it back."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "logo_similarity"


def package_imports() -> dict[str, set[str]]:
    """{subpackage: subpackages it imports}, counting imports inside functions and TYPE_CHECKING blocks too."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        source = parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                bits = name.split(".")
                if bits[0] == "logo_similarity" and len(bits) > 1 and bits[1] != source:
                    graph.setdefault(source, set()).add(bits[1])
    return graph


def test_no_import_cycles_between_subpackages():
    graph = package_imports()

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(p for p in graph if reaches(p, p, {p}))
    assert not cycles, f"subpackages in an import cycle: {cycles} ({ {p: sorted(graph[p]) for p in cycles} })"


def test_the_pipeline_layers_point_one_way():
    graph = package_imports()
    assert "embeddings" not in graph.get("text", set()) and "embeddings" not in graph.get("preprocessing", set())
    assert "datasets" not in graph.get("preprocessing", set())
    assert not graph.get("retrieval", set()) & {"reranking", "search", "api"}  # candidates flow to reranking
