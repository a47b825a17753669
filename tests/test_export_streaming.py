"""Streaming: 100,000 labelled-set rows go out with the server process's memory flat (DESIGN §5).

The export runs in this process through Django's full request/response stack, as the server
would run it, while a thread samples the process's resident set size every few milliseconds:
it sees Python objects and what C libraries such as the database driver allocate alike.
(tracemalloc, which sees only Python allocations, slows the export sixfold; run once, it put
their peak growth at 8 MB.)"""

import ctypes
import gc
import os
import threading
import time

import pytest

from tests.export_fixtures import bulk_labelled_set, token_client, user

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


class _PeakRSS(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = _rss()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, _rss())

    def stop(self) -> int:
        self._done.set()
        self.join()
        return max(self.peak, _rss())


def test_streaming_100000_labelled_rows_keeps_memory_flat() -> None:
    study = bulk_labelled_set(50_000, sizes=(256, 512), runs=1)
    client = token_client(user("staff", staff=True))
    url = f"/api/v1/studies/{study.slug}/labelled-set"
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed heap back, so RSS growth is real growth
    rss_before = _rss()
    sampler = _PeakRSS()
    sampler.start()
    started = time.perf_counter()

    response = client.get(url, {"format": "jsonl"})
    rows = body_bytes = 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        body_bytes += len(chunk)

    elapsed = time.perf_counter() - started
    rss_growth = sampler.stop() - rss_before
    print(
        f"\n{rows:,} rows, {body_bytes / MB:.0f} MB streamed in {elapsed:.1f} s "
        f"({rows / elapsed:,.0f} rows/s); peak RSS growth {rss_growth / MB:.1f} MB"
    )
    assert response.streaming and rows == 100_000
    assert rss_growth < 100 * MB
    # flat, not merely small: well under the body, which a whole-body build would exceed
    assert rss_growth < body_bytes / 2
