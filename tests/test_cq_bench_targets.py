"""The benchmark page's verdicts on issue 10's targets (native/cq/bench/bench_targets.py):
a ratio between two rows of one run, and the same ratio for the C peer measured
under the same conditions, which tells a miss the poller could fix from one that
nothing could have met on that machine in that run."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "native" / "cq" / "bench"))
import bench_targets


def row(peer: str, runs: list[float], figure: str = "per_s", **where) -> dict:
    ordered = sorted(runs)
    return {"peer": peer, **where, "runs": {figure: runs},
            figure: {"median": ordered[len(ordered) // 2]}}


def reply_sizes(iomgr: float, poller: float, c_client: float) -> dict:
    """The reply-size sweep at 64 KiB, one repeat each."""
    return {"reply_size": {"rows": [
        row("iomgr", [iomgr], size=65536), row("poller", [poller], size=65536),
        row("redis-benchmark", [c_client], size=65536)]}}


def result(sweeps: dict, name: str) -> dict:
    [found] = [r for r in bench_targets.evaluate(sweeps) if r["name"] == name]
    return found


def test_a_miss_the_c_client_missed_too_is_out_of_reach():
    """iomgr already runs at the C client's pace: 1.3x iomgr was out of reach."""
    r = result(reply_sizes(iomgr=10_000, poller=11_000, c_client=10_500), "poller_vs_iomgr_64k")
    assert r["met"] is False and abs(r["measured"] - 1.1) < 1e-9
    assert abs(r["ceiling"] - 1.05) < 1e-9 and r["ceiling_peer"] == "redis-benchmark"
    assert r["reachable"] is False
    assert "out of reach" in bench_targets.out_of_reach(r)


def test_a_miss_the_c_client_met_is_the_pollers_to_fix():
    r = result(reply_sizes(iomgr=10_000, poller=11_000, c_client=20_000), "poller_vs_iomgr_64k")
    assert r["met"] is False and r["reachable"] is True and abs(r["ceiling"] - 2.0) < 1e-9
    assert bench_targets.out_of_reach(r) == ""


def test_a_met_target_is_never_called_out_of_reach():
    r = result(reply_sizes(iomgr=10_000, poller=14_000, c_client=12_000), "poller_vs_iomgr_64k")
    assert r["met"] is True and r["reachable"] is False
    assert bench_targets.out_of_reach(r) == ""


def test_a_latency_ceiling_is_reached_by_being_lower():
    """p50 is bounded from above: the C client's lower latency leaves room."""
    sweeps = {"inflight": {"rows": [
        row("iomgr", [400.0], "p50_us", inflight=1), row("poller", [600.0], "p50_us", inflight=1),
        row("redis-benchmark", [200.0], "p50_us", inflight=1)]}}
    r = result(sweeps, "poller_p50_vs_iomgr")
    assert r["met"] is False and abs(r["shortfall"] - 1.5 / 1.3) < 1e-9
    assert abs(r["ceiling"] - 0.5) < 1e-9 and r["reachable"] is True


def test_servers_are_bounded_by_redis_server_under_the_same_load():
    sweeps = {"servers": {"rows": [
        row("cq.aio iomgr", [50_000], pipeline=1), row("cq.aio poller", [30_000], pipeline=1),
        row("redis-server", [45_000], pipeline=1)]}}
    r = result(sweeps, "server_poller_p1_vs_iomgr")
    assert r["met"] is False and abs(r["ceiling"] - 0.9) < 1e-9 and r["reachable"] is False


def test_a_missing_c_peer_or_a_zero_rate_gives_no_ceiling_rather_than_a_crash():
    sweeps = reply_sizes(iomgr=0.0, poller=11_000, c_client=10_500)
    r = result(sweeps, "poller_vs_iomgr_64k")
    assert r["measured"] is None and r["ceiling"] is None and r["reachable"] is None
    poller_only = sweeps["reply_size"]["rows"][1]
    sweeps = {"reply_size": {"rows": [poller_only, row("iomgr", [10_000], size=65536)]}}
    r = result(sweeps, "poller_vs_iomgr_64k")
    assert r["measured"] is not None and r["ceiling"] is None and r["reachable"] is None


def test_the_verdict_counts_the_repeats_that_met_the_bound():
    """The median decides; the count says whether one noisy repeat could have flipped it."""
    sweeps = {"reply_size": {"rows": [
        row("iomgr", [100.0, 100.0, 100.0], size=65536),
        row("poller", [140.0, 120.0, 131.0], size=65536)]}}
    r = result(sweeps, "poller_vs_iomgr_64k")
    assert r["met"] is True and (r["repeats_met"], r["repeats"]) == (2, 3)


def test_each_repeat_is_compared_with_the_same_repeat_of_the_other_side():
    """A repeat measures both sides close together: the median of the per-repeat
    ratios decides, not the ratio of two medians taken from different repeats
    (here 20 / 20 = 1.0, though the poller was ahead in two repeats of three)."""
    sweeps = {"reply_size": {"rows": [
        row("iomgr", [30.0, 10.0, 20.0], size=65536),
        row("poller", [10.0, 20.0, 30.0], size=65536),
        row("redis-benchmark", [45.0, 12.0, 22.0], size=65536)]}}
    r = result(sweeps, "poller_vs_iomgr_64k")
    assert abs(r["measured"] - 1.5) < 1e-9 and r["met"] is True
    assert r["spread"] == [10.0 / 30.0, 2.0] and (r["repeats_met"], r["repeats"]) == (2, 3)
    # The C peer's ratios, paired the same way: 1.5, 1.2, 1.1 -> median 1.2, below 1.3.
    assert abs(r["ceiling"] - 1.2) < 1e-9 and r["reachable"] is False
    assert (r["ceiling_repeats_met"], r["ceiling_repeats"]) == (1, 3)


def test_a_c_peer_repeat_that_failed_is_not_counted():
    """The C peer's count is out of its own repeats: one that failed (None) is left out."""
    sweeps = {"reply_size": {"rows": [
        row("iomgr", [10.0, 10.0, 10.0], size=65536),
        row("poller", [11.0, 11.0, 11.0], size=65536),
        {**row("redis-benchmark", [20.0, 20.0, 20.0], size=65536),
         "runs": {"per_s": [20.0, None, 20.0]}}]}}
    r = result(sweeps, "poller_vs_iomgr_64k")
    assert (r["ceiling_repeats_met"], r["ceiling_repeats"], r["repeats"]) == (2, 2, 3)


def test_out_of_reach_says_how_often_the_c_peer_met_the_bound():
    r = result(reply_sizes(iomgr=10_000, poller=11_000, c_client=10_500), "poller_vs_iomgr_64k")
    assert bench_targets.out_of_reach(r).endswith("meeting the bound in 0 of 1 repeats")
