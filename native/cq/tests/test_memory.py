"""Memory stays flat over 100,000 calls (native leaks show up in the RSS)."""

import gc
import os

import cq
import pytest

pytestmark = pytest.mark.timeout(300)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
@pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""),
                    reason="ASan's quarantine keeps freed memory in the RSS on purpose")
def test_rss_flat_over_100k_calls(cq_server):
    with cq.Client("127.0.0.1", cq_server.port) as client:
        payload = b"x" * 100

        def calls(n):
            for i in range(n):
                client.call("ECHO", payload)
                if i % 10 == 0:
                    client.call("SET", "k", payload)  # through a Python handler

        calls(20_000)  # warm up: allocator pools, buffers
        gc.collect()
        before = rss_bytes()
        calls(100_000)
        gc.collect()
        grown = rss_bytes() - before
    # A leak of even 100 bytes per call would be 10 MB; allow allocator noise.
    assert grown < 4 << 20, f"RSS grew by {grown / 1e6:.1f} MB over 100k calls"
