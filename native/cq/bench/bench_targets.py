"""Issue 10's targets for the poller, each a ratio between two rows of one run.

A target names the sweep, the row measured (numerator), the row it is compared
with (denominator, or None for an absolute figure), the figure (``per_s``,
``p50_us``, ``wakeups_per_event``) and the bound. ``evaluate`` reads the rows
``bench_cq.py`` produced. Each repeat runs every configuration once, so repeat
*i* of the numerator and repeat *i* of the denominator ran close together, under
much the same load: the measured value is the **median of those paired
ratios**; their spread is shown beside it, and so is how many single repeats met
the bound. (A ratio of the two medians would pair figures from different
repeats: one side's median may come from a quiet repeat, the other's from a
busy one.)

A target may also name its **ceiling**: the row of a C peer measured under the
same conditions (redis-benchmark's client on the same connection and pipeline,
or redis-server under the same load generator). That peer's ratio over the same
denominator, paired repeat by repeat as well, is the best this run's machine and
peers allowed: a target the C peer did not meet either is out of reach here,
whatever the poller does; one it met in only some repeats was barely in reach.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import cq.aio
from bench_servers import STREAMS

REDIS_SERVER = "redis-server"  # the servers sweep's C server, same load generator
C_CLIENT = "redis-benchmark"  # the client sweeps' C client, same connection and pipeline


@dataclass(frozen=True)
class Target:
    name: str
    text: str
    sweep: str
    numerator: dict
    denominator: dict | None
    figure: str
    bound: str  # ">=" or "<="
    threshold: float
    ceiling: dict | None = None  # the C peer's row under the same conditions


def _meets(value: float, bound: str, threshold: float) -> bool:
    return value >= threshold if bound == ">=" else value <= threshold


def _server_targets() -> list[Target]:
    targets = []
    for pipeline, threshold in ((1, 1.5), (16, 2.0)):
        for strategy in cq.aio.SERVER_STRATEGIES:
            targets.append(Target(
                f"server_{strategy}_p{pipeline}_vs_streams",
                f"cq.aio server ({strategy}) vs the asyncio-streams server, "
                f"redis-benchmark -c 50 -P {pipeline}",
                "servers", {"peer": f"cq.aio {strategy}", "pipeline": pipeline},
                {"peer": STREAMS, "pipeline": pipeline}, "per_s", ">=", threshold,
                ceiling={"peer": REDIS_SERVER, "pipeline": pipeline}))
    for pipeline in (1, 16):
        targets.append(Target(
            f"server_poller_p{pipeline}_vs_iomgr",
            f"cq.aio server: poller vs iomgr, redis-benchmark -c 50 -P {pipeline}",
            "servers", {"peer": "cq.aio poller", "pipeline": pipeline},
            {"peer": "cq.aio iomgr", "pipeline": pipeline}, "per_s", ">=", 1.0,
            ceiling={"peer": REDIS_SERVER, "pipeline": pipeline}))
    return targets


TARGETS: tuple[Target, ...] = (
    Target("poller_vs_iomgr_echo", "poller vs iomgr: 64 calls in flight, ECHO of 16 B",
           "inflight", {"peer": "poller", "inflight": 64}, {"peer": "iomgr", "inflight": 64},
           "per_s", ">=", 1.0, ceiling={"peer": C_CLIENT, "inflight": 64}),
    Target("poller_vs_iomgr_64k", "poller vs iomgr: 64 calls in flight, 64 KiB replies",
           "reply_size", {"peer": "poller", "size": 65536}, {"peer": "iomgr", "size": 65536},
           "per_s", ">=", 1.3, ceiling={"peer": C_CLIENT, "size": 65536}),
    Target("poller_vs_redis_asyncio",
           "poller vs redis.asyncio (hiredis, pool of 64): 64 calls in flight",
           "inflight", {"peer": "poller", "inflight": 64},
           {"peer": "redis.asyncio", "inflight": 64}, "per_s", ">=", 8.0,
           ceiling={"peer": C_CLIENT, "inflight": 64}),
    Target("poller_vs_redis_benchmark",
           "poller, 64 in flight on one connection, vs redis-benchmark -c 1 -P 64",
           "inflight", {"peer": "poller", "inflight": 64},
           {"peer": "redis-benchmark", "inflight": 64}, "per_s", ">=", 0.25),
    Target("poller_p50_vs_iomgr", "p50 latency, one call in flight: poller vs iomgr",
           "inflight", {"peer": "poller", "inflight": 1}, {"peer": "iomgr", "inflight": 1},
           "p50_us", "<=", 1.3, ceiling={"peer": C_CLIENT, "inflight": 1}),
    Target("alarms_poller_vs_byte", "a burst of ready alarms to futures: poller vs poller_byte",
           "alarms", {"peer": "poller"}, {"peer": "poller_byte"}, "per_s", ">=", 1.5),
    Target("alarms_poller_wakeups", "a burst of ready alarms: poller's loop wake-ups per event",
           "alarms", {"peer": "poller"}, None, "wakeups_per_event", "<=", 0.001),
    *_server_targets(),
)


def _find(rows: list[dict], selector: dict) -> dict | None:
    for row in rows:
        if all(row.get(key) == value for key, value in selector.items()):
            return row
    return None


def _runs(row: dict, figure: str) -> list[float | None]:
    return row.get("runs", {}).get(figure, [])


def evaluate(sweeps: dict[str, dict]) -> list[dict]:
    """Every target with its measured value, spread, and whether it was met."""
    results = []
    for target in TARGETS:
        rows = sweeps.get(target.sweep, {}).get("rows", [])
        top = _find(rows, target.numerator)
        bottom = _find(rows, target.denominator) if target.denominator else None
        result = {"name": target.name, "text": target.text, "sweep": target.sweep,
                  "figure": target.figure, "bound": target.bound,
                  "threshold": target.threshold, "numerator": target.numerator,
                  "denominator": target.denominator}
        per_repeat = _per_repeat(top, bottom, target)
        ceilings = (_per_repeat(_find(rows, target.ceiling), bottom, target)
                    if target.ceiling else [])
        ceiling = statistics.median(ceilings) if ceilings else None
        result.update(ceiling=ceiling,
                      ceiling_peer=target.ceiling["peer"] if target.ceiling else None,
                      reachable=None if ceiling is None else
                      _meets(ceiling, target.bound, target.threshold),
                      # A repeat where the C peer failed is left out: count its own.
                      ceiling_repeats_met=_count_met(ceilings, target) if ceilings else None,
                      ceiling_repeats=len(ceilings) if ceilings else None)
        if not per_repeat:
            result.update(measured=None, met=None, spread=None, shortfall=None)
        else:
            value = statistics.median(per_repeat)
            met = _meets(value, target.bound, target.threshold)
            # How far from the bound, as a factor: 2.0 means "needs twice as much".
            shortfall = (target.threshold / value if target.bound == ">=" else
                         value / target.threshold) if value > 0 else None
            result.update(measured=value, met=met, shortfall=None if met else shortfall,
                          spread=[min(per_repeat), max(per_repeat)],
                          # The median decides; how many single repeats met the bound
                          # tells a clear verdict from one the noise could flip.
                          repeats_met=_count_met(per_repeat, target),
                          repeats=len(per_repeat))
        results.append(result)
    return results


def _count_met(values: list[float], target: Target) -> int:
    return sum(_meets(v, target.bound, target.threshold) for v in values)


def _per_repeat(top: dict | None, bottom: dict | None, target: Target) -> list[float]:
    """The figure repeat by repeat: the row's own where the target has no
    denominator, else numerator / denominator within each repeat; [] where a
    row was not measured. A repeat where either side failed is left out."""
    if top is None:
        return []
    runs = _runs(top, target.figure)
    if target.denominator is None:
        return [v for v in runs if v is not None]
    if bottom is None:
        return []
    pairs = zip(runs, _runs(bottom, target.figure), strict=True)
    return [a / b for a, b in pairs if a is not None and b]


def out_of_reach(result: dict) -> str:
    """For a missed target the C peer missed too: the sentence that says so."""
    if result["met"] is not False or result["reachable"] is not False:
        return ""
    return (f"out of reach in this run: the C peer under the same conditions "
            f"({result['ceiling_peer']}) reached {result['ceiling']:.3g}, meeting the "
            f"bound in {result['ceiling_repeats_met']} of {result['ceiling_repeats']} repeats")


def report(results: list[dict]) -> None:
    print("\nIssue 10's targets (this run):")
    for r in results:
        if r["measured"] is None:
            print(f"  [ n/a ] {r['text']}: not measured")
            continue
        spread = (f" (repeats {r['spread'][0]:.3g} to {r['spread'][1]:.3g})"
                  if r["spread"] else "")
        verdict = "met" if r["met"] else f"MISSED by {r['shortfall']:.2f}x"
        if r["repeats"]:
            verdict += f" ({r['repeats_met']} of {r['repeats']} repeats met it)"
        if out_of_reach(r):
            verdict += f"; {out_of_reach(r)}"
        print(f"  [{'  ok ' if r['met'] else 'short'}] {r['text']}: {r['measured']:.3g} "
              f"(target {r['bound']} {r['threshold']:g}){spread}: {verdict}")
