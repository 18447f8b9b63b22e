"""Time `vizcallbacks render` of a recorded run to GIF and MP4, with no Keras and no backend.

    .venv/bin/python scripts/benchmark_render.py /tmp/demo            # best of 3, target 15 s
    .venv/bin/python scripts/benchmark_render.py /tmp/demo --repeats 5 --target 15
    .venv/bin/python scripts/benchmark_render.py /tmp/demo --profile  # one run under cProfile

The run folder is one that training recorded (`vizcallbacks train ... --out DIR`, or a
callback's `frames_dir`): the README's demo, `vizcallbacks train --dataset fashion_mnist
--epochs 2 --out /tmp/demo`, makes 95 frames. The issue's target: those 95 frames redrawn to
GIF and MP4 in under 15 s on 2 cores.

Each run is a fresh subprocess, as a user runs the command: it puts None in `sys.modules`
for keras, tensorflow, jax and torch before importing vizcallbacks (so any import of them
fails), then calls the command line's `main(["render", RUN, "--out", OUT, "--format",
"gif,mp4", ...])`. The wall time is the subprocess's, start-up and imports included (the
time inside `main` is printed beside it); the best of the runs is kept. The movies are read
back with `vizcallbacks.movie.inspect_movie` and their frame counts checked against the
store's. Exit status 1 when the target is missed or a count is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BLOCKED = ("keras", "tensorflow", "jax", "jaxlib", "torch")

CHILD = r"""
import json, sys, time
start = time.perf_counter()
for name in {blocked!r}:
    sys.modules[name] = None  # `import name` now raises ImportError
import vizcallbacks.apps.cli as cli
imported = time.perf_counter()
argv = {argv!r}
if {profile!r}:
    import cProfile, pstats
    profiler = cProfile.Profile()
    status = profiler.runcall(cli.main, argv)
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(25)
else:
    status = cli.main(argv)
done = time.perf_counter()
leaked = sorted(name for name in {blocked!r} if sys.modules.get(name) is not None)
print("RESULT " + json.dumps({{"status": status, "import_s": imported - start, "main_s": done - imported,
                               "leaked": leaked}}))
"""


def run_once(run_dir: Path, out_dir: Path, extra: list[str], *, profile: bool = False) -> dict:
    argv = ["render", str(run_dir), "--out", str(out_dir), "--format", "gif,mp4", *extra]
    code = CHILD.format(blocked=BLOCKED, argv=argv, profile=profile)
    env = dict(os.environ, MPLBACKEND="Agg")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0 or "RESULT " not in done.stdout:
        raise SystemExit(f"render failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = json.loads(done.stdout.split("RESULT ", 1)[1].splitlines()[0])
    if result["status"] != 0:
        raise SystemExit(f"vizcallbacks render exited {result['status']}:\n{done.stderr}")
    if result["leaked"]:
        raise SystemExit(f"blocked modules were imported anyway: {result['leaked']}")
    result["wall_s"] = wall
    if profile:
        result["profile"] = done.stderr
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a recorded run (e.g. /tmp/demo)")
    parser.add_argument("--repeats", type=int, default=3, help="runs; the best wall time is kept (3)")
    parser.add_argument("--target", type=float, default=15.0, help="seconds the best run must beat (15)")
    parser.add_argument("--profile", action="store_true", help="one run under cProfile; print where the time goes")
    parser.add_argument("--keep", metavar="DIR", type=Path, help="render into DIR (kept) instead of a temporary folder")
    parser.epilog = "After --, more options for `vizcallbacks render` (e.g. -- --cmap viridis)."
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)

    from vizcallbacks.movie import inspect_movie
    from vizcallbacks.record import open_run

    frames = len(open_run(args.run_dir))
    work = Path(tempfile.mkdtemp(prefix="vizcallbacks-render-bench-"))
    out_dir = args.keep or work / "out"
    try:
        if args.profile:
            result = run_once(args.run_dir, out_dir, [*extra, "--overwrite"], profile=True)
            print(result["profile"])
            print(f"profiled run: {result['wall_s']:.2f} s wall, imports {result['import_s']:.2f} s "
                  f"(cProfile slows it)")
            return 0
        results = []
        for repeat in range(args.repeats):
            result = run_once(args.run_dir, out_dir, [*extra, "--overwrite"])
            results.append(result)
            print(f"run {repeat + 1}: {result['wall_s']:.2f} s wall (imports {result['import_s']:.2f} s, "
                  f"render command {result['main_s']:.2f} s)", file=sys.stderr)
        gif = inspect_movie(out_dir / "movie.gif")
        mp4 = inspect_movie(out_dir / "movie.mp4")
        sizes = {name: (out_dir / name).stat().st_size for name in ("movie.gif", "movie.mp4")}
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    best = min(results, key=lambda result: result["wall_s"])
    walls = ", ".join(f"{result['wall_s']:.2f}" for result in results)
    met = best["wall_s"] < args.target
    counts_ok = gif.frame_count == frames and mp4.frame_count >= frames
    command = " ".join(["vizcallbacks render", str(args.run_dir), "--format gif,mp4", *extra])
    print(f"\n`{command}`, keras/tensorflow/jax/torch imports blocked, best of {len(results)} ({walls} s)\n")
    print("| Frames | Best wall time | Per frame | Imports | Render command | GIF frames | MP4 frames "
          "| Target | Met |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {frames} | {best['wall_s']:.2f} s | {1000 * best['wall_s'] / frames:.0f} ms "
          f"| {best['import_s']:.2f} s | {best['main_s']:.2f} s "
          f"| {gif.frame_count} ({sizes['movie.gif'] / 1e6:.2f} MB) "
          f"| {mp4.frame_count} ({sizes['movie.mp4'] / 1e6:.2f} MB) "
          f"| < {args.target:g} s | {'yes' if met else 'NO'} |")
    if not counts_ok:
        print(f"\nWRONG FRAME COUNTS: store {frames}, GIF {gif.frame_count}, MP4 {mp4.frame_count}")
    return 0 if met and counts_ok else 1


if __name__ == "__main__":
    sys.exit(main())
