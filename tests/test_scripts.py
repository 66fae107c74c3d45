"""Every script under scripts/ starts the way the README runs it, and the other way too: benchmarks as
``python -m scripts.bench.NAME`` and as ``python scripts/bench/NAME.py``, phase scripts as files (``--help``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHES = sorted((REPO / "scripts" / "bench").glob("*.py"))
PHASES = sorted((REPO / "scripts").glob("0*.py"))


def test_scripts_start_both_ways():
    commands = {}
    for path in BENCHES:
        commands[f"python -m scripts.bench.{path.stem}"] = [sys.executable, "-m", f"scripts.bench.{path.stem}", "--help"]
        commands[f"python {path.relative_to(REPO)}"] = [sys.executable, str(path.relative_to(REPO)), "--help"]
    for path in PHASES:
        commands[f"python {path.relative_to(REPO)}"] = [sys.executable, str(path.relative_to(REPO)), "--help"]
    assert len(BENCHES) >= 8 and len(PHASES) >= 9
    running = {name: subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name, cmd in commands.items()}
    failed = {}
    for name, proc in running.items():
        out, err = proc.communicate(timeout=300)
        if proc.returncode != 0 or "usage" not in (out + err).lower():
            failed[name] = err.strip().splitlines()[-1:] or out[-200:]
    assert not failed, failed
