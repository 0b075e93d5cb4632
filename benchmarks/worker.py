"""One system in one process: ``python -m benchmarks.worker --system NAME --phase build|serve ...``.

The parent (``python -m benchmarks``) starts a worker per system and phase so that every peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss``) is that system's alone. The worker pins itself to one core, so
queries per second are "on one core", and writes its figures as JSON to ``--result``.

* ``build``: load the content, build the index (timed: ``build_s``), save it where the system can (the
  engine: whatever cache ``bot`` writes next to the content). Without ``--serve-here`` that is all.
* ``serve``: a fresh process starts from the saved index (``startup_s``: from the parent launching the
  process to ready, so interpreter start, imports and loading the content count), then answers.
* ``--serve-if-cold``: when no warm start is possible the build process answers too: start-up = its
  time to ready. ``--serve-here``: the build process answers in any case.

Answering: every question of the latency set (dev questions, then synthetic ones), each timed end to
end; the dev set's answerable questions give hit@1 and hit@3 (a hit is the real episode's gold line).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from . import systems  # noqa: E402
from .synth import REAL_EPISODE  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pin_one_core() -> int | None:
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})
        return cpus[-1]
    except (AttributeError, OSError):
        return None


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024, 1) if sys.platform != "darwin" else round(kb / 1024 / 1024, 1)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0-100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def make_system(name: str, content_dir: Path) -> systems.System:
    if name == "engine":
        return systems.EngineSystem(content_dir)
    if name == "naive_wratio":
        return systems.NaiveWRatio()
    if name == "bm25_jieba":
        return systems.Bm25Jieba()
    if name == "fts5_trigram":
        return systems.Fts5Trigram()
    raise SystemExit(f"unknown system {name!r}")


def load_query_set(dev_path: Path, synthetic_path: Path | None) -> list[dict]:
    """Dev questions first (read from the dev file at run time), then the synthetic ones."""
    from bot.evaluate import load_questions

    out = [{"q": it.q, "gold": list(it.lines), "dev": True} for it in load_questions(dev_path)]
    if synthetic_path is not None and synthetic_path.exists():
        for s in json.loads(synthetic_path.read_text(encoding="utf-8")):
            out.append({"q": s["q"], "origin": (s["episode"], s["line"]), "dev": False})
    return out


def answer_all(
    system: systems.System,
    queries: list[dict],
    latency_idx: list[int] | None,
    quality_idx: list[int] | None = None,
) -> dict:
    """Ask the latency set (or ``latency_idx`` of it) plus the answerable dev questions (or those of
    ``quality_idx``)."""
    chosen = set(range(len(queries))) if latency_idx is None else set(latency_idx)
    quality = {i for i, q in enumerate(queries) if q["dev"] and q["gold"]}
    if quality_idx is not None:
        quality &= set(quality_idx)
    times: list[float] = []
    timed: list[tuple[float, int]] = []
    hit1 = hit3 = 0
    syn_n = syn_hit1 = 0
    started = time.perf_counter()
    timed_total = 0.0
    for n, i in enumerate(sorted(chosen | quality)):
        q = queries[i]
        t0 = time.perf_counter()
        ranked = system.ask(q["q"])
        dt = time.perf_counter() - t0
        if i in chosen:
            times.append(dt)
            timed.append((dt, i))
            timed_total += dt
        if i in quality:
            gold = {(REAL_EPISODE, ln) for ln in q["gold"]}
            hit1 += bool(ranked[:1] and ranked[0] in gold)
            hit3 += any(r in gold for r in ranked[:3])
        if i in chosen and not q["dev"]:
            syn_n += 1
            syn_hit1 += bool(ranked[:1] and tuple(ranked[0]) == tuple(q["origin"]))
        if n and n % 50 == 0:
            log(f"    {system.name}: {n} questions, {time.perf_counter() - started:.1f}s")
    return {
        "p50_ms": round(percentile(times, 50) * 1000, 3) if times else None,
        "p99_ms": round(percentile(times, 99) * 1000, 3) if times else None,
        "qps": round(len(times) / timed_total, 2) if timed_total > 0 else None,
        "hit1": round(hit1 / len(quality), 4) if quality else None,
        "hit3": round(hit3 / len(quality), 4) if quality else None,
        "n_latency": len(times),
        "n_quality": len(quality),
        "synthetic_hit1": round(syn_hit1 / syn_n, 4) if syn_n else None,
        "n_synthetic": syn_n,
        # The slowest questions by index in the query set (dev questions first): where p99 comes from.
        "slowest": [
            {"index": i, "ms": round(dt * 1000, 1), "dev": queries[i]["dev"]}
            for dt, i in sorted(timed, reverse=True)[:5]
        ],
        "first_ms": round(timed[0][0] * 1000, 1) if timed else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    ap.add_argument("--system", required=True, choices=systems.SYSTEMS)
    ap.add_argument("--phase", required=True, choices=("build", "serve"))
    ap.add_argument("--content", required=True, type=Path)
    ap.add_argument("--cache-dir", required=True, type=Path)
    ap.add_argument("--dev", type=Path, required=True)
    ap.add_argument("--synthetic", type=Path)
    ap.add_argument("--latency-idx", default="", help="comma-separated indices of the query set to time")
    ap.add_argument("--quality-idx", default="", help="comma-separated indices: the dev questions scored")
    ap.add_argument("--serve-here", action="store_true")
    ap.add_argument("--serve-if-cold", action="store_true")
    ap.add_argument("--launched", type=float, required=True, help="time.time() when the parent launched us")
    ap.add_argument("--result", type=Path, required=True)
    args = ap.parse_args(argv)
    return run(args)


def _cache_state(content_dir: Path) -> dict[str, int]:
    out = {}
    for p in systems.engine_cache_files(content_dir):
        for f in [p, *p.rglob("*")] if p.is_dir() else [p]:
            if f.is_file():
                out[str(f)] = f.stat().st_mtime_ns
    return out


def _stage(path: Path, stage: str) -> None:
    """Say what the worker is doing, for the parent to report if it has to stop us."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"stage": stage}), encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    cpu = pin_one_core()
    out: dict = {"system": args.system, "phase": args.phase, "cpu": cpu}
    system = make_system(args.system, args.content)

    if args.phase == "build":
        t0 = time.perf_counter()
        content = systems.load_content(args.content)
        out["load_s"] = round(time.perf_counter() - t0, 3)
        out["segments"] = content.segment_count
        if args.system == "engine":
            systems.clear_engine_cache(args.content)
        _stage(args.result, f"building the index ({content.segment_count} segments)")
        log(f"  {args.system}: building over {content.segment_count} segments")
        t1 = time.perf_counter()
        if args.system == "fts5_trigram":
            system.build(content, path=args.cache_dir / "fts5.sqlite3")
        else:
            system.build(content)
        out["build_s"] = round(time.perf_counter() - t1, 3)
        ready = time.time()
        if args.system == "engine":
            files = systems.engine_cache_files(args.content)
            out["warm_start"] = bool(files)
            out["cache_files"] = [str(p) for p in files]
            if not files:
                out["warm_start_reason"] = "bot/ has no on-disk index cache yet: start-up = full build"
        elif system.no_warm_start:
            out["warm_start"] = False
            out["warm_start_reason"] = system.no_warm_start
        else:
            t2 = time.perf_counter()
            out["warm_start"] = system.save(args.cache_dir)
            out["save_s"] = round(time.perf_counter() - t2, 3)
        out["build_peak_rss_mb"] = peak_rss_mb()
    else:
        _stage(args.result, "starting from the saved index")
        before = _cache_state(args.content) if args.system == "engine" else {}
        system.start(args.content, args.cache_dir)
        ready = time.time()
        if args.system == "engine" and _cache_state(args.content) != before:
            # The cache was stale (bot/ source, settings or content changed since the build): rebuilt.
            out["cache_rebuilt"] = True
    out["startup_s"] = round(ready - args.launched, 3)

    # --serve-if-cold: answer in the build process only when no warm start is possible (the parent starts
    # a fresh process right away otherwise, so the window for bot/ to change in between stays short).
    if args.phase == "serve" or args.serve_here or (args.serve_if_cold and not out.get("warm_start")):
        _stage(args.result, "answering")
        queries = load_query_set(args.dev, args.synthetic)
        idx = [int(i) for i in args.latency_idx.split(",") if i] or None
        q_idx = [int(i) for i in args.quality_idx.split(",") if i] or None
        log(f"  {args.system}: answering ({len(idx) if idx else len(queries)} timed questions)")
        out.update(answer_all(system, queries, idx, q_idx))
        out["peak_rss_mb"] = peak_rss_mb()
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
