"""Requests per second for LL-HLS files, the app against nginx, on the same files.

Starts the local cluster (scripts/cluster: nginx in front of two nodes; node 1 encodes the live
demo sitting meanwhile, as it would during a real sitting), then runs wrk (Debian's package) with
64 connections against node 1 directly and against nginx, for each kind of request:

- a 0.5 s part and a 2 s segment of the 720p rendition, and its init file;
- the 720p media playlist, non-blocking (what a player loads first);
- a part that does not exist (404).

Each pair runs alternately, app then nginx, --runs times; the table shows medians and the ratio.
Through nginx the files come from disk, the playlist from nginx's one-second cache, the 404 from
the owner once a second (deploy/nginx.conf).

    python bench/serve.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.viewers import live_demo_sitting  # noqa: E402
from tests.cluster import load_cluster_script  # noqa: E402

CONNECTIONS = 64
RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
STATUS = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def wrk(url: str, seconds: float) -> tuple[float, int]:
    """Requests per second and the count of non-2xx answers."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds:.0f}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non_ok = STATUS.search(out)
    return float(RATE.search(out).group(1)), int(non_ok.group(1)) if non_ok else 0


def cases(sid: int, media: Path) -> dict[str, Callable[[], str]]:
    """Each kind of request -> its path, chosen when a run starts: parts of old segments are
    deleted as the live edge moves on, so the part is a recent one each time."""
    directory = media / str(sid) / "720p"
    root = f"/live/{sid}/720p"
    return {
        "segment": lambda: f"{root}/{sorted(directory.glob('seg*.m4s'))[0].name}",
        "part": lambda: f"{root}/{sorted(directory.glob('part*.m4s'))[-3].name}",
        "init": lambda: f"{root}/init.mp4",
        "playlist": lambda: f"{root}/index.m3u8",
        "missing part (404)": lambda: f"{root}/part99999.0.m4s",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one 3 s run per case")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds = 1, 3.0
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    cluster = load_cluster_script().Cluster()
    cluster.start()
    try:
        app, edge = cluster.node_url(0), cluster.url
        sid = live_demo_sitting(app)
        paths = cases(sid, cluster.media_dir)
        sizes = {name: len(_get(edge + path())) for name, path in paths.items()}
        results = {}
        for name, path in paths.items():
            rates: dict[str, list[float]] = {"app": [], "nginx": []}
            non_ok = {"app": 0, "nginx": 0}
            for _ in range(args.runs):
                for target, base in (("app", app), ("nginx", edge)):
                    rate, failed = wrk(base + path(), args.seconds)
                    rates[target].append(rate)
                    non_ok[target] += failed
            app_rate = statistics.median(rates["app"])
            nginx_rate = statistics.median(rates["nginx"])
            results[name] = {
                "bytes": sizes[name],
                "app_rps": round(app_rate),
                "nginx_rps": round(nginx_rate),
                "app_over_nginx": round(app_rate / nginx_rate, 3),
                "runs": rates,
                "non_2xx": non_ok,
            }
    finally:
        cluster.stop()
    load = os.getloadavg()[0]
    print(
        f"wrk, 1 thread, {CONNECTIONS} connections, median of {args.runs} x {args.seconds:.0f} s;"
        f" load average {load:.1f} on {os.cpu_count()} cores"
    )
    print(f"{'request':20} {'bytes':>8} {'app req/s':>10} {'nginx req/s':>12} {'app/nginx':>10}")
    for name, row in results.items():
        print(
            f"{name:20} {row['bytes']:>8} {row['app_rps']:>10} {row['nginx_rps']:>12}"
            f" {row['app_over_nginx']:>9.1%}"
        )
    if args.json:
        summary = {"connections": CONNECTIONS, "runs": args.runs, "load_average": load}
        print(json.dumps({**summary, "results": results}))


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        return error.read()


if __name__ == "__main__":
    main()
