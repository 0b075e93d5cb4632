"""``python -m benchmarks --episodes 1000 --json FILE``: the bot's engine against the alternatives.

See docs/benchmarks.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from .synth import generate_show, show_dir, synthetic_questions
from .systems import PACKAGES, SYSTEMS

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEV = ROOT.parent / "shared" / "eval" / "dev.yaml"
DEFAULT_OUT = ROOT / "benchmarks" / "out"
FIGURES = ("build_s", "startup_s", "p50_ms", "p99_ms", "qps", "peak_rss_mb", "hit1", "hit3")

# The targets (at 1,000 episodes, on the 2-core machine).
TARGET_P99_MS = 50.0
TARGET_SPEEDUP = 10.0
TARGET_STARTUP_S = 5.0
TARGET_RSS_MB = 2048.0
TARGET_HIT1_DROP = 0.03


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _missing_packages(system: str) -> list[str]:
    import importlib.util

    return [p for p in PACKAGES.get(system, ()) if importlib.util.find_spec(p) is None]


def _code_state() -> dict:
    """The commit and a hash of the engine's code and settings, to tell when they changed mid-run."""
    import hashlib

    h = hashlib.sha256()
    for p in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "config").glob("*.yaml")]):
        h.update(str(p.relative_to(ROOT)).encode() + b"\0" + p.read_bytes())
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"commit": commit, "bot_sha256": h.hexdigest()[:16]}


def spread_indices(total: int, count: int) -> list[int]:
    """``count`` indices spread evenly over ``range(total)`` (all of them when count >= total)."""
    if count >= total:
        return list(range(total))
    return sorted({math.floor(i * total / count) for i in range(count)})


MEM_LIMIT_GB = 0.0  # set from --mem-limit-gb


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def run_worker(args: list[str], result: Path, timeout: float) -> tuple[dict | None, str, float]:
    """Run one worker process; (figures, reason when none, wall seconds).

    The worker is stopped when it runs past ``timeout`` or its resident memory passes ``MEM_LIMIT_GB``
    (polled from /proc, so the limit is on the same RSS the figures report)."""
    result.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "benchmarks.worker", *args, "--result", str(result)]
    started = time.time()
    proc = subprocess.Popen([*cmd, "--launched", repr(started)], cwd=ROOT)
    limit = int(MEM_LIMIT_GB * 1024**3)
    stopped = ""
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _rss_bytes(proc.pid))
        if time.time() - started > timeout:
            stopped = f"timed out after {timeout:.0f}s"
        elif limit and peak > limit:
            stopped = f"stopped at {peak / 1024**3:.1f} GB resident, over the {MEM_LIMIT_GB:g} GB limit"
        if stopped:
            proc.kill()
            proc.wait()
            break
        time.sleep(0.2)
    wall = time.time() - started
    data = json.loads(result.read_text(encoding="utf-8")) if result.exists() else None
    if stopped:
        stage = f" (while {data['stage']})" if data and data.get("stage") else ""
        return None, f"{stopped}{stage}", wall
    if proc.returncode != 0 or data is None or data.get("stage"):
        return None, f"worker failed (exit {proc.returncode}) after {wall:.0f}s", wall
    return data, "", wall


def run_system(
    name: str,
    common: list[str],
    work: Path,
    latency_idx: list[int] | None,
    timeout: float,
    quality_idx: list[int] | None = None,
    n_answerable: int = 0,
):
    """Figures of one system, the reasons for the ones it cannot give, and details."""
    figures: dict = dict.fromkeys(FIGURES)
    reasons: dict[str, str] = {}
    details: dict = {}
    missing = _missing_packages(name)
    if missing:
        why = f"package(s) not installed: {', '.join(missing)} (pip install -e '.[bench]')"
        return figures, dict.fromkeys(FIGURES, why), {"skipped": why}
    cache_dir = work / "cache" / name
    base = [*common, "--system", name, "--cache-dir", str(cache_dir)]
    if latency_idx is not None:
        base += ["--latency-idx", ",".join(map(str, latency_idx))]
    if quality_idx is not None:
        base += ["--quality-idx", ",".join(map(str, quality_idx))]
    serve_in_build = name in ("engine", "naive_wratio")
    log(f"[{name}] build{' + answer' if serve_in_build else ''}")
    build, why, wall = run_worker(
        [*base, "--phase", "build", *(["--serve-if-cold"] if serve_in_build else [])],
        work / f"{name}-build.json",
        timeout,
    )
    details["build_wall_s"] = round(wall, 1)
    if build is None:
        return figures, dict.fromkeys(FIGURES, f"build {why}"), details
    details["build"] = build
    figures["build_s"] = build["build_s"]
    source = build
    if build.get("warm_start"):
        log(f"[{name}] warm start + answer")
        serve, why, wall = run_worker([*base, "--phase", "serve"], work / f"{name}-serve.json", timeout)
        details["serve_wall_s"] = round(wall, 1)
        if serve is None:
            for f in FIGURES[1:]:
                reasons[f] = f"warm start {why}"
            return figures, reasons, details
        details["serve"] = serve
        source = serve
        if serve.get("cache_rebuilt"):
            reasons["startup_s"] = (
                "the warm start found the cache stale and rebuilt it (bot/ source, settings or content "
                "changed after the build): this start-up is a rebuild; run again"
            )
    else:
        reasons["startup_s"] = build.get("warm_start_reason", "")
    for f in FIGURES[1:]:
        figures[f] = source.get(f)
        if figures[f] is None and f not in reasons:
            reasons[f] = "not measured"
    if latency_idx is not None:
        reasons.setdefault(
            "p50_ms", f"latency over a fixed subset of {len(latency_idx)} questions (too slow for all)"
        )
    if quality_idx is not None and len(quality_idx) < n_answerable:
        reasons.setdefault(
            "hit1",
            f"hit@1/hit@3 over a fixed subset of {len(quality_idx)} of {n_answerable} answerable dev questions",
        )
    return figures, reasons, details


def _fmt(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def format_table(report: dict, systems: list[str]) -> str:
    width = max(14, *(len(s) + 2 for s in systems))
    lines = [f"{'system':<{width}}" + "".join(f"{f:>13}" for f in FIGURES)]
    for s in systems:
        row = report[s]
        lines.append(f"{s:<{width}}" + "".join(f"{_fmt(row.get(f)):>13}" for f in FIGURES))
    single = report["single_episode"]
    lines.append(
        f"{'single-episode engine (real content)':<{width}}  hit1 {_fmt(single['hit1'])}  "
        f"hit3 {_fmt(single['hit3'])}"
    )
    return "\n".join(lines)


def targets(report: dict, engine_warm: bool) -> list[tuple[str, str, str]]:
    """(target, figure, PASS/FAIL/n/a) rows for the issue's goals."""
    e = report.get("engine", {})
    naive = report.get("naive_wratio", {})
    single = report["single_episode"]
    n = report["episodes"]
    rows = []

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("PASS" if ok else "FAIL")

    p99 = e.get("p99_ms")
    rows.append(
        (f"engine p99 <= {TARGET_P99_MS:.0f} ms", _fmt(p99), verdict(None if p99 is None else p99 <= 50))
    )
    if e.get("p50_ms") and naive.get("p50_ms"):
        ratio = naive["p50_ms"] / e["p50_ms"]
        rows.append(
            (
                f">= {TARGET_SPEEDUP:.0f}x faster than naive (p50)",
                f"{ratio:.1f}x",
                verdict(ratio >= TARGET_SPEEDUP),
            )
        )
    else:
        rows.append((f">= {TARGET_SPEEDUP:.0f}x faster than naive (p50)", "null", "n/a"))
    st = e.get("startup_s")
    label = f"start-up <= {TARGET_STARTUP_S:.0f} s with cache"
    if st is not None and not engine_warm:
        rows.append((label, f"{_fmt(st)} (no cache: = build)", verdict(st <= TARGET_STARTUP_S)))
    else:
        rows.append((label, _fmt(st), verdict(None if st is None else st <= TARGET_STARTUP_S)))
    rss = e.get("peak_rss_mb")
    rows.append(
        (
            f"peak RSS <= {TARGET_RSS_MB:.0f} MB",
            _fmt(rss),
            verdict(None if rss is None else rss <= TARGET_RSS_MB),
        )
    )
    h1, s1 = e.get("hit1"), single.get("hit1")
    if h1 is not None and s1 is not None:
        rows.append(
            (
                f"hit@1 within {TARGET_HIT1_DROP} of single-episode",
                f"{h1:.3f} vs {s1:.3f}",
                verdict(h1 >= s1 - TARGET_HIT1_DROP - 1e-9),
            )
        )
    else:
        rows.append((f"hit@1 within {TARGET_HIT1_DROP} of single-episode", "null", "n/a"))
    if n != 1000:
        rows = [(t + " [target is for 1000 episodes]", f, v) for t, f, v in rows]
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--episodes", type=int, default=100, help="episodes in the show, the real one included")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--queries", type=int, default=400, help="latency set size: dev questions + synthetic")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-dir", type=Path, default=DEFAULT_OUT, help="generated shows and caches")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--dev", type=Path, default=DEFAULT_DEV, help="dev question set (read at run time)")
    ap.add_argument(
        "--naive-queries",
        type=int,
        help="naive_wratio is timed on a fixed subset: this many synthetic questions "
        "(default 20, or 8 above 200 episodes) plus its --naive-dev questions",
    )
    ap.add_argument(
        "--naive-dev",
        type=int,
        help="answerable dev questions naive_wratio is scored (and timed) on, spread evenly "
        "(default all, or 8 above 200 episodes)",
    )
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per worker process")
    ap.add_argument(
        "--mem-limit-gb",
        type=float,
        default=8.0,
        help="resident-memory limit of each worker in GB (0: none); a system over it is stopped and gets "
        "null figures",
    )
    ap.add_argument("--regenerate", action="store_true", help="generate the show again even if present")
    args = ap.parse_args(argv)

    global MEM_LIMIT_GB
    MEM_LIMIT_GB = args.mem_limit_gb
    chosen = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SYSTEMS]
    if unknown:
        ap.error(f"unknown system(s) {unknown}; choose from {', '.join(SYSTEMS)}")
    if not args.dev.exists():
        ap.error(f"dev question set not found: {args.dev} (give --dev)")
    stages: dict[str, float] = {}
    code_before = _code_state()

    t = time.time()
    log(
        f"show: {args.episodes} episodes, seed {args.seed} → {show_dir(args.out_dir, args.episodes, args.seed)}"
    )
    content = generate_show(args.out_dir, args.episodes, args.seed, force=args.regenerate, log=log)
    single_content = generate_show(args.out_dir, 1, args.seed)
    stages["generate_s"] = round(time.time() - t, 1)

    from bot.evaluate import load_questions

    n_dev = len(load_questions(args.dev))
    n_syn = max(0, args.queries - n_dev)
    work = show_dir(args.out_dir, args.episodes, args.seed) / "runs"
    work.mkdir(parents=True, exist_ok=True)
    syn_path = work.parent / f"synthetic-questions-{n_syn}.json"
    syn_path.write_text(  # cheap: made again every run, so it follows the generator
        json.dumps(synthetic_questions(content, n_syn, args.seed), ensure_ascii=False), encoding="utf-8"
    )
    total = n_dev + n_syn
    big = args.episodes > 200
    answerable = [i for i, it in enumerate(load_questions(args.dev)) if it.lines]
    k_dev = args.naive_dev if args.naive_dev is not None else (8 if big else len(answerable))
    k_syn = args.naive_queries if args.naive_queries is not None else (8 if big else 20)
    naive_dev_idx = [answerable[i] for i in spread_indices(len(answerable), k_dev)]
    naive_idx = naive_dev_idx + [n_dev + i for i in spread_indices(n_syn, k_syn)]
    log(f"query set: {n_dev} dev questions (read from {args.dev}) + {n_syn} synthetic = {total}")
    log(
        f"naive_wratio is too slow for all of them; it answers a fixed subset: dev questions at "
        f"{naive_dev_idx} (scored and timed) and synthetic ones at {naive_idx[len(naive_dev_idx) :]} (timed)"
    )

    common = ["--content", str(content), "--dev", str(args.dev), "--synthetic", str(syn_path)]
    report: dict = {"episodes": args.episodes, "single_episode": {"hit1": None, "hit3": None}}
    all_reasons: dict[str, dict[str, str]] = {}
    details: dict = {"stages": stages, "naive_indices": naive_idx, "queries": total}

    # Single-episode figures: the engine on the real content alone (a copy, so no cache lands in content/).
    t = time.time()
    log("[single-episode] engine on the real episode")
    single_work = show_dir(args.out_dir, 1, args.seed) / "runs"
    single_args = ["--content", str(single_content), "--dev", str(args.dev), "--system", "engine"]
    single_args += ["--cache-dir", str(single_work / "cache"), "--phase", "build", "--serve-here"]
    single_args += ["--latency-idx", ",".join(map(str, range(n_dev)))]
    single, why, _ = run_worker(single_args, single_work / "engine-single.json", args.timeout)
    stages["single_episode_s"] = round(time.time() - t, 1)
    if single is None or single.get("hit1") is None:
        why = why or "no answers"
        all_reasons["single_episode"] = {"hit1": why, "hit3": why}
    else:
        report["single_episode"] = {"hit1": single["hit1"], "hit3": single["hit3"]}
        details["single_episode"] = single

    engine_warm = False
    for name in SYSTEMS:
        if name not in chosen:
            report[name] = dict.fromkeys(FIGURES)
            all_reasons[name] = dict.fromkeys(FIGURES, "not run (--systems)")
            continue
        t = time.time()
        if name == "naive_wratio":
            figures, reasons, det = run_system(
                name, common, work, naive_idx, args.timeout, naive_dev_idx, len(answerable)
            )
        else:
            figures, reasons, det = run_system(name, common, work, None, args.timeout)
        stages[f"{name}_s"] = round(time.time() - t, 1)
        report[name] = figures
        all_reasons[name] = reasons
        details[name] = det
        if name == "engine":
            engine_warm = bool(det.get("build", {}).get("warm_start"))
        served = det.get("serve") or det.get("build") or {}
        first, p99 = served.get("first_ms"), figures.get("p99_ms")
        if first and p99 and first > 10 * p99 and first > 1000:
            reasons["p99_ms"] = (
                f"the first question took {first / 1000:.1f}s (work done lazily on the first ask; "
                f"counted in the latency set, the slowest are in details.json)"
            )

    print()
    segments = next(
        (d["build"]["segments"] for d in details.values() if isinstance(d, dict) and "build" in d), "?"
    )
    print(
        f"{args.episodes} episodes ({segments} segments), {total} questions "
        f"({n_dev} dev + {n_syn} synthetic), one core per system"
    )
    print(format_table(report, SYSTEMS))
    notes = []
    for s, rs in all_reasons.items():
        texts = {r for r in rs.values() if r}
        if len(texts) == 1 and len(rs) == len(FIGURES) and all(rs.values()):
            notes.append(f"  {s}: all figures null: {texts.pop()}")
        else:
            notes += [f"  {s}.{f}: {r}" for f, r in rs.items() if r]
    if notes:
        print("\nnotes (null figures and caveats):")
        print("\n".join(notes))
    print("\ntargets (issue 6):")
    for target, figure, verdict in targets(report, engine_warm):
        print(f"  {verdict:<5} {target:<62} {figure}")
    if _code_state() != code_before:
        print("\nWARNING: bot/ or config/ changed during this run: the engine's figures may mix two versions")
    details["code"] = code_before
    print("\nstages (wall seconds): " + ", ".join(f"{k} {v}" for k, v in stages.items()))
    details_path = work / "details.json"
    details_path.write_text(
        json.dumps({"report": report, "reasons": all_reasons, **details}, ensure_ascii=False, indent=1),
        encoding="utf-8",
    )
    print(f"details: {details_path}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        print(f"figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
