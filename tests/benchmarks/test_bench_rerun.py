"""Rerun benchmark of bulk downloads: what a rerun reads with ``verify="quick"`` (the
record of verified files) and ``verify="full"``, and what keeping the record costs a
first run.

Run by ``make bench`` or directly with ``python tests/benchmarks/test_bench_rerun.py``.
``XNAT_SDK_BENCH_RERUN_FILES`` (default 2,000) files of ``XNAT_SDK_BENCH_RERUN_KB``
(default 1,024) KiB each, 25 per scan, on a local server in this process. Measured: the
first run with the record, without it (its writes disabled) and with ``fsync=True`` (each
file's data on the disk before its rename), taking turns ``XNAT_SDK_BENCH_RERUN_ROUNDS``
(2) times, then reruns with the
record (quick) and without it (full), each twice: with the files in the page cache
("warm") and after dropping this run's files from it (``posix_fadvise(DONTNEED)``, only
ours: "cold", as on shared storage read again after a day). Bytes read are the process's
``rchar`` (``/proc/self/io``) and the report's ``hashed_bytes``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

FILES = int(os.environ.get("XNAT_SDK_BENCH_RERUN_FILES", "2000"))
KB = int(os.environ.get("XNAT_SDK_BENCH_RERUN_KB", "1024"))
PER_SCAN = 25
FIRST_ROUNDS = int(os.environ.get("XNAT_SDK_BENCH_RERUN_ROUNDS", "2"))


def _rchar() -> int:
    try:
        with open("/proc/self/io") as stats:
            for line in stats:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _drop_cache(folder: Path) -> None:
    """Drop ``folder``'s files from the page cache (written back first)."""
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fdatasync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _timed(what: str, call: Any) -> Any:
    before, started = _rchar(), time.perf_counter()
    report = call()
    seconds, read = time.perf_counter() - started, _rchar() - before
    print(
        f"{what:<34} {seconds:7.2f} s  read {read / 1e6:9.1f} MB  "
        f"(hashed {report.hashed_bytes / 1e6:8.1f} MB; {len(report.downloaded)} downloaded, "
        f"{len(report.skipped)} skipped)"
    )
    return report


def run() -> dict[str, Any]:
    import xnat_sdk
    from xnat_sdk.testing import LocalXNAT
    from xnat_sdk.transfers import _verified

    scans = FILES // PER_SCAN
    work = Path(tempfile.mkdtemp(prefix="xnat-sdk-bench-rerun-"))
    print(f"\n{FILES} files of {KB} KiB ({FILES * KB / 1024:.0f} MiB), {PER_SCAN} per scan")
    try:
        with (
            LocalXNAT(work / "server") as server,
            xnat_sdk.connect(server.url, user="admin", password="admin") as session,
        ):
            server.seed_bulk(
                "RERUN",
                scans // 4,
                scans_per_session=4,
                files_per_scan=PER_SCAN,
                file_size=KB << 10,
            )
            project = session.projects["RERUN"]

            def get(folder: str, **kw: Any) -> Any:
                return lambda: project.download_files(work / folder, verbose=False, **kw)

            note = _verified.VerifiedRecord.note
            for turn in range(FIRST_ROUNDS):  # taking turns: the disk's load drifts
                if turn:
                    shutil.rmtree(work / "a")
                _timed("first run, with the record", get("a"))
                _verified.VerifiedRecord.note = lambda self, item: None  # type: ignore[method-assign]
                try:
                    _timed("first run, no record kept", get("b"))
                finally:
                    _verified.VerifiedRecord.note = note  # type: ignore[method-assign]
                shutil.rmtree(work / "b")
                _timed("first run, fsync=True", get("c", fsync=True))
                shutil.rmtree(work / "c")
            results = {}
            for cache in ("warm", "cold"):
                for verify in ("quick", "full"):
                    if cache == "cold":
                        _drop_cache(work / "a")
                    report = _timed(f"rerun, {verify}, {cache} cache", get("a", verify=verify))
                    assert not report.downloaded and len(report.skipped) == scans * PER_SCAN
                    results[(verify, cache)] = report.hashed_bytes
            assert results[("quick", "cold")] == 0
            return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_rerun_benchmark() -> None:
    run()


if __name__ == "__main__":
    run()
