"""Kill a running index build with SIGKILL at many points and resume it: used by the test and the benchmark."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class KillReport:
    chunks_at_kill: list[list[int]] = field(default_factory=list)  # per build cycle, chunks done at each kill
    verified: list[bool] = field(default_factory=list)  # per cycle: the resumed build equals the reference

    @property
    def kills(self) -> int:
        return sum(len(c) for c in self.chunks_at_kill)

    @property
    def flat(self) -> list[int]:
        return [n for cycle in self.chunks_at_kill for n in cycle]


def kill_and_resume(args: list[str], env: dict[str, str], work: Path, out: Path, kills: int,
                    verify: Callable[[Path], bool], seed: int = 0, patience_s: float = 120.0,
                    max_cycles: int = 20) -> KillReport:
    """Build with ``args`` again and again, each run killed after 0-2 more finished chunks (plus a few ms).

    When a build completes despite the kills, ``verify(out)`` checks it and the next cycle starts over (``out``
    is deleted: it is the caller's scratch output), until ``kills`` kills have landed, whatever the machine's
    speed: a fast machine finishes a build in fewer kills, so it runs more cycles.
    """
    rng = random.Random(seed)
    report = KillReport()

    def chunks_done() -> int:
        return len(list(work.glob("chunk-*.done")))

    while report.kills < kills and len(report.chunks_at_kill) < max_cycles:
        shutil.rmtree(out, ignore_errors=True)
        cycle: list[int] = []
        report.chunks_at_kill.append(cycle)
        while True:
            proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            target, deadline = chunks_done() + rng.randint(0, 2), time.monotonic() + patience_s
            while proc.poll() is None and chunks_done() < target and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.015))
            if proc.poll() is not None or report.kills >= kills:
                break
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            cycle.append(chunks_done())
        if proc.wait(timeout=patience_s) != 0:  # the last run of a cycle finishes the build
            raise RuntimeError(f"the resumed build failed with exit code {proc.returncode}")
        report.verified.append(bool(verify(out)))
    return report
