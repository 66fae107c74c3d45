"""The package's data flows one way, as docs/architecture.md maps it.

Three checks over every import in the package (inside functions and TYPE_CHECKING blocks too): no module imports
one that (directly or not) imports it back; each subpackage imports only what the package map in
docs/architecture.md says it may (so the map stays true); and inside ``retrieval`` the on-disk store stays below
the index that reads it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "logo_similarity"
ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.md"
# the FAISS pieces a version's files are made of: what the store reads and writes besides its own modules
STORE_MAY_IMPORT = {"logo_similarity.retrieval.ann", "logo_similarity.retrieval.ondisk",
                    "logo_similarity.retrieval.projection", "logo_similarity.retrieval.refine"}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def module_imports() -> dict[str, set[str]]:
    """{module: modules of ours it imports}: ``from a.b import c`` counts as importing a.b.c when that is a module."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets: set[str] = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                for alias in node.names:
                    targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    bits = alias.name.split(".")
                    prefixes = [".".join(bits[:n]) for n in range(len(bits), 0, -1)]
                    targets.add(next((p for p in prefixes if p in known), alias.name))
        graph[name] = {t for t in targets if t in known and t not in (name, "logo_similarity")}
    return graph


def package_of(module: str) -> str:
    return module.split(".")[1]


def package_imports() -> dict[str, set[str]]:
    """{subpackage (or top-level module): the other ones it imports}."""
    graph: dict[str, set[str]] = {}
    for source, targets in module_imports().items():
        if source == "logo_similarity":
            continue
        graph.setdefault(package_of(source), set()).update(
            package_of(t) for t in targets if package_of(t) != package_of(source))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def package_map() -> dict[str, set[str]]:
    """The "may import" column of the package map in docs/architecture.md."""
    text = ARCHITECTURE.read_text()
    section = text[text.index("## Package map"):]
    section = section[: section.find("\n## ", 1)]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`").rstrip("/").removesuffix(".py")] = set(re.findall(r"`([a-z_]+)/?(?:\.py)?`", cells[2]))
    return rows


def test_no_module_imports_itself_back():
    assert not cycles(module_imports())


def test_no_import_cycles_between_subpackages():
    assert not cycles(package_imports())


def test_every_subpackage_imports_only_what_the_architecture_map_allows():
    allowed, actual = package_map(), package_imports()
    names = {package_of(m) for m in modules() if m != "logo_similarity"}
    assert names <= set(allowed), f"missing from the package map in docs/architecture.md: {sorted(names - set(allowed))}"
    beyond = {p: sorted(actual.get(p, set()) - allowed[p]) for p in names if actual.get(p, set()) - allowed[p]}
    assert not beyond, f"imports the package map does not allow (fix the import, or the map): {beyond}"


def test_the_pipeline_layers_point_one_way():
    graph = package_imports()
    later = {"indexing", "reranking", "search", "evaluation", "training", "reporting", "api", "commands", "cli"}
    assert not graph["retrieval"] & later  # the read side knows nothing of who builds or uses it
    assert not graph["indexing"] & {"reranking", "search", "evaluation", "api", "commands", "cli"}
    assert not graph["reranking"] & {"search", "indexing", "api"}  # candidates flow to reranking, not back
    assert "embeddings" not in graph["text"] and "embeddings" not in graph["preprocessing"]
    assert "datasets" not in graph["preprocessing"]


def test_the_store_stays_below_the_index_that_reads_it():
    graph = module_imports()
    store = "logo_similarity.retrieval.store"
    for module, targets in graph.items():
        if module.startswith(store):
            upward = {t for t in targets if t.startswith("logo_similarity.retrieval.") and not t.startswith(store)}
            assert upward <= STORE_MAY_IMPORT, (module, sorted(upward - STORE_MAY_IMPORT))
