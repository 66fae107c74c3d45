"""Fault injection for the fault tests and ``scripts/bench/bench_faults.py``: kill -9 a real server, fill the
disk (RLIMIT_FSIZE in a child process), corrupt a version's files, and check an index root afterwards."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from logo_similarity.retrieval import SearchIndex

CLI = [sys.executable, "-m", "logo_similarity.cli"]
KEY = "fault-suite-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fire(client: httpx.Client, method: str, url: str, **kw) -> dict:
    """Send a request on a thread and return at once; the answer (if the server lives to give one) lands in the
    returned dict as ``response``, a transport error (the server was killed under it) as ``error``."""
    answer: dict = {}

    def send() -> None:
        try:
            answer["response"] = client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            answer["error"] = exc

    threading.Thread(target=send, daemon=True).start()
    return answer


def wait_job(client: httpx.Client, job_id: str, timeout: float = 120.0) -> dict:
    """The job once it is no longer pending or running (or as it is when ``timeout`` runs out)."""
    deadline = time.monotonic() + timeout
    while (job := client.get(f"/jobs/{job_id}").json())["state"] in ("pending", "running"):
        if time.monotonic() > deadline:
            return job
        time.sleep(0.1)
    return job


def file_size_limit(limit_bytes: int):
    """A ``preexec_fn``: writes past ``limit_bytes`` in any file fail with EFBIG, as on a full disk.

    SIGXFSZ is ignored (its default kills the process), and an ignored signal stays ignored across exec.
    """
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    return apply


def corrupt(path: Path, how: str) -> None:
    """``truncate`` (half the file), ``flip`` (bytes in the middle, same size) or ``garbage`` (all of it)."""
    data = bytearray(path.read_bytes())
    if how == "truncate":
        data = data[: len(data) // 2]
    elif how == "flip":
        middle = len(data) // 2
        for i in range(middle, min(len(data), middle + 64)):
            data[i] ^= 0xFF
    elif how == "garbage":
        data = bytearray(os.urandom(len(data)))
    else:
        raise ValueError(how)
    path.write_bytes(bytes(data))


def check_root(root: Path) -> dict:
    """Load the live version as a server would and check it is whole: vectors, metadata and manifest agree."""
    index = SearchIndex.load(root)
    assert len(index) == len(index.metadata)
    if index.local is not None:
        assert len(index.local) == len(index)
    staging = list((root / "versions").glob(".*.tmp"))
    return {"version": index.folder.name, "items": len(index), "ids": sorted(index.metadata),
            "keys": sorted(m["key"] for m in index.metadata.values()), "staging_left": len(staging)}


class Server:
    """``logo-sim serve`` in its own process, killed with SIGKILL on request."""

    def __init__(self, root: Path, env: dict[str, str] | None = None, preexec=None) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "LOGO_SIM__API__API_KEY": KEY, "LOGO_SIM__LOG_LEVEL": "WARNING", **(env or {})}
        self.preexec = preexec
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> Server:
        self.proc = subprocess.Popen([*CLI, "serve", "--index", str(self.root), "--port", str(self.port)],
                                     env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     preexec_fn=self.preexec)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(self.url + "/ready", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become ready")

    def client(self, timeout: float = 120.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": KEY}, timeout=timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()


def child_pids(pid: int) -> set[int]:
    """Direct children of a process (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"
