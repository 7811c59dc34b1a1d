"""Shared by the per-engine drivers: prompt ids, timing, memory, result line."""
import json
import resource
import sys
import time

now = time.perf_counter


def prompt_ids(p, vocab):
    """The ids `run-llm bench` uses: 256 + (i * 40503) mod (vocab - 256)."""
    return [256 + (i * 40503) % max(1, vocab - 256) for i in range(p)]


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def emit(**fields):
    """One JSON line on stdout, the only thing a driver prints there."""
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()
