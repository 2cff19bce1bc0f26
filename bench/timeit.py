"""Stand-in for hyperfine where it cannot be installed: the few options run.sh
uses, and the same JSON (results[].command/times/median/user/system/...).

    python3 timeit.py --runs 5 --warmup 1 --export-json out.json -n NAME 'CMD' ...
"""

import argparse
import json
import resource
import shlex
import statistics
import subprocess
import time

parser = argparse.ArgumentParser()
parser.add_argument("--runs", type=int, default=5)
parser.add_argument("--warmup", type=int, default=0)
parser.add_argument("--export-json", required=True)
parser.add_argument("-n", "--command-name", action="append", default=[])
parser.add_argument("commands", nargs="+")
args = parser.parse_intermixed_args()

results = []
for i, command in enumerate(args.commands):
    name = args.command_name[i] if i < len(args.command_name) else command
    argv = shlex.split(command)
    times, user, system = [], 0.0, 0.0
    for run in range(args.warmup + args.runs):
        before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if run >= args.warmup:
            times.append(time.perf_counter() - start)
            user += (after.ru_utime - before.ru_utime) / args.runs
            system += (after.ru_stime - before.ru_stime) / args.runs
    results.append({
        "command": name, "times": times, "median": statistics.median(times),
        "mean": statistics.mean(times), "min": min(times), "max": max(times),
        "stddev": statistics.stdev(times) if len(times) > 1 else 0.0,
        "user": user, "system": system,
    })
    print(f"{name}: median {results[-1]['median']:.3f} s "
          f"(min {results[-1]['min']:.3f}, max {results[-1]['max']:.3f}, {len(times)} runs)")

with open(args.export_json, "w") as f:
    json.dump({"results": results}, f, indent=2)
