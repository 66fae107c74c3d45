"""Kill a running index build with SIGKILL at many points and resume it: used by the test and benchmark."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path


def kill_and_resume(args: list[str], env: dict[str, str], work: Path, kills: int, seed: int = 0,
                    patience_s: float = 120.0) -> list[int]:
    """Start ``args`` repeatedly, each time letting it finish 0-2 more chunks and killing it a few ms later.

    Returns the number of finished chunks at each kill; stops early if a run completes. The caller runs the
    command once more to finish, then compares with an uninterrupted build.
    """
    rng = random.Random(seed)
    finished: list[int] = []

    def chunks_done() -> int:
        return len(list(work.glob("chunk-*.done")))

    while len(finished) < kills:
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        target, deadline = chunks_done() + rng.randint(0, 2), time.monotonic() + patience_s
        while proc.poll() is None and chunks_done() < target and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.015))
        if proc.poll() is not None:
            break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        finished.append(chunks_done())
    return finished
