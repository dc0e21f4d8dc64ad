#!/usr/bin/env python3
"""Python peers of the scoop benchmark: concurrent.futures.ProcessPoolExecutor and Dask distributed.

    python3 bench/peers/python_peer.py <ppe|dask|serial> <workload> [--n N] [--loops L] [--json] ...

Prints one line {peer, workload, figure, unit, detail} (JSON with --json) after running the
workload once; the harness repeats runs and takes medians. The `serial` peer only serves W2: it
calibrates the Python busy loop and gives the Python serial time the two pools' speedups are
measured against (each language against its own serial time, since CPython is ~50x slower than
V8 on this loop).

Task functions are module-level so they pickle by reference. Heavy imports (numpy, distributed)
are done lazily: W6 times interpreter start-up, and should not pay for modules it doesn't use.
"""

import argparse
import json
import os
import pickle
import sys
import time

perf = time.perf_counter
M32 = 0xFFFFFFFF
W5_LEN = 131072  # float64 elements in 1 MiB
W5_BURSTS = 5  # as bench/lib/workloads.mjs

# Mirrors SIZES in bench/lib/workloads.mjs. Dask gets smaller counts where a full-size run would take
# tens of seconds (~700 submits/s, ~10 ms per round trip here); the figure is a rate, and the n
# actually used is reported in `detail`.
SIZES = {
    "full": {
        "W1": {"n": 1_000_000},
        "W1s": {"n": 20_000},
        "W1l": {"n": 2_000},
        "W2": {"tasks": 64, "task_ms": 50},
        "W3": {"n": 20},
        "W4": {"tasks": 200, "seed": 42},
        "W5": {"tasks": 64},
        "W6": {},
    },
    "quick": {
        "W1": {"n": 20_000},
        "W1s": {"n": 500},
        "W1l": {"n": 100},
        "W2": {"tasks": 8, "task_ms": 10},
        "W3": {"n": 10},
        "W4": {"tasks": 20, "seed": 42},
        "W5": {"tasks": 8},
        "W6": {},
    },
}
W1S_WARM_TASKS = 20_000
DASK_SIZES = {
    "full": {"W1s": {"n": 2_000}, "W1l": {"n": 200}, "W3": {"n": 12}},
    "quick": {"W1s": {"n": 200}, "W1l": {"n": 20}, "W3": {"n": 6}},
}


# ---------------------------------------------------------------- task functions (picklable)

def noop(x=None):
    return x


def inc(x):
    return x + 1


def inc_blob(blob):
    return pickle.dumps([x + 1 for x in pickle.loads(blob)], protocol=5)


def spin(loops, seed):
    """xorshift32, bit-identical to spin() in bench/lib/workloads.mjs."""
    x = (seed & M32) or 1
    for _ in range(loops):
        x ^= (x << 13) & M32
        x ^= x >> 17
        x ^= (x << 5) & M32
    return x


def busy(ms):
    """Busy CPU for ms on the wall clock (W4 is about scheduling CPU-bound work, not sleeping)."""
    end = perf() + ms / 1000
    n = 0
    while perf() < end:
        n += 1
    return n


def checksum(a):
    return float(a.sum())


def dask_fib(n):
    """Nested tasks: each call submits its two children from inside the worker.

    worker_client() secedes this task's thread from the worker's pool while it waits, so a
    one-thread worker can still run the children. pure=False matters: with Dask's default
    key-by-arguments, fib(k) would be computed once and shared, and far fewer tasks would run.
    """
    if n < 2:
        return n
    from distributed import worker_client

    with worker_client() as c:
        a = c.submit(dask_fib, n - 1, pure=False)
        b = c.submit(dask_fib, n - 2, pure=False)
        return a.result() + b.result()


# ---------------------------------------------------------------- shared workload data

def w4_durations(tasks, seed):
    """Same 32-bit LCG as w4Durations() in bench/lib/workloads.mjs: identical list of 1..40 ms."""
    x = seed & M32
    out = []
    for _ in range(tasks):
        x = (x * 1664525 + 1013904223) & M32
        out.append(1 + ((x >> 8) % 40))
    return out


def w5_payload(k):
    import numpy as np

    return ((np.arange(W5_LEN, dtype=np.int64) + k) % 1024).astype(np.float64)


def fib_calls(n):
    return 1 if n < 2 else 1 + fib_calls(n - 1) + fib_calls(n - 2)


def calibrate_spin(task_ms):
    loops = 10_000
    while True:  # grow until one sample is long enough for the clock not to matter
        t0 = perf()
        spin(loops, 7)
        if perf() - t0 >= 0.02:
            break
        loops *= 2
    samples = []
    for i in range(5):
        t0 = perf()
        spin(loops, i + 11)
        samples.append(perf() - t0)
    samples.sort()
    return max(1, round(loops * (task_ms / 1000) / samples[2]))


def serial_w2(tasks, loops):
    t0 = perf()
    for i in range(tasks):
        spin(loops, i + 1)
    return perf() - t0


def timed_process(args):
    """W6: spawn-to-exit wall seconds of a fresh interpreter running this file."""
    import subprocess

    t0 = perf()
    subprocess.run([sys.executable, os.path.abspath(__file__), *args], check=True, stdout=subprocess.DEVNULL)
    return perf() - t0


def result(figure, unit, **detail):
    return {"figure": figure, "unit": unit, "detail": detail}


def not_applicable(reason):
    return {"figure": None, "unit": "", "detail": {"na": reason}}


# ---------------------------------------------------------------- pools behind one small interface

class PPE:
    name = "ppe"

    def __init__(self, workers):
        from concurrent.futures import ProcessPoolExecutor

        self.workers = workers
        self.ex = ProcessPoolExecutor(workers)
        # With fork, the first submit forks every worker; wait for enough no-ops that all have run.
        for f in [self.ex.submit(time.sleep, 0.02) for _ in range(workers * 2)]:
            f.result()

    def submit(self, fn, *args):
        return self.ex.submit(fn, *args)

    def gather(self, futs):
        return [f.result() for f in futs]

    def close(self):
        self.ex.shutdown()


class Dask:
    name = "dask"

    def __init__(self, workers):
        import logging
        import warnings

        # "Large object detected in task graph" is advice, not an error; keep stderr readable.
        warnings.filterwarnings("ignore", message="Large object")

        from distributed import Client, LocalCluster

        self.workers = workers
        self.cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        self.client = Client(self.cluster)
        self.client.wait_for_workers(workers)
        self.gather([self.submit(time.sleep, 0.02) for _ in range(workers * 2)])

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    def gather(self, futs):
        return self.client.gather(futs)

    def close(self):
        self.client.close()
        self.cluster.close()


# ---------------------------------------------------------------- workloads

def run_w1(pool, p):
    data = list(range(p["n"]))
    by_chunk = {}
    if pool.name == "ppe":
        # Executor.map with a chunksize is PPE's own batching; try several, report the best.
        chunks = [p["chunk"]] if p.get("chunk") else [c for c in (1_000, 10_000, 100_000) if c <= p["n"]] or [p["n"]]
        list(pool.ex.map(inc, data[:1000], chunksize=100))  # warm-up, so the first size isn't penalised
        for c in chunks:
            t0 = perf()
            out = list(pool.ex.map(inc, data, chunksize=c))
            by_chunk[c] = p["n"] / (perf() - t0)
            assert out[-1] == p["n"]
        payload = "Executor.map(inc, list, chunksize)"
    else:
        # One task per slice, like a Dask bag. The slice travels as one pickled bytes blob: a plain
        # list argument would go through Dask's per-element serialisation of collections, which
        # runs at ~40-90k items/s here and would measure that quirk instead of the pool.
        chunks = [p["chunk"]] if p.get("chunk") else [c for c in (50_000, 250_000) if c <= p["n"]] or [p["n"]]
        pool.gather([pool.submit(inc_blob, pickle.dumps(data[:1000])) for _ in range(pool.workers * 2)])  # warm-up
        for c in chunks:
            t0 = perf()
            futs = [pool.submit(inc_blob, pickle.dumps(data[i : i + c], protocol=5)) for i in range(0, p["n"], c)]
            out = [x for blob in pool.gather(futs) for x in pickle.loads(blob)]
            by_chunk[c] = p["n"] / (perf() - t0)
            assert out[-1] == p["n"]
        payload = "submit(inc_blob, pickled slice) per chunk"
    best = max(by_chunk, key=by_chunk.get)
    return result(by_chunk[best], "items/s", n=p["n"], bestChunk=best, byChunk=by_chunk, payload=payload)


def run_w1s(pool, p):
    n = p["n"]
    # Steady state before timing, as for the Node peers (W1S_WARM_TASKS in bench/lib/workloads.mjs);
    # Dask is too slow per task for that many, so it gets one burst.
    warm = W1S_WARM_TASKS if isinstance(pool, PPE) else n
    done = 0
    while done < warm:
        pool.gather([pool.submit(noop) for _ in range(n)])
        done += n
    t0 = perf()
    pool.gather([pool.submit(noop) for _ in range(n)])
    s = perf() - t0
    return result(n / s, "tasks/s", n=n, seconds=s)


def run_w1l(pool, p):
    n = p["n"]
    t0 = perf()
    for _ in range(n):
        pool.gather([pool.submit(noop)])
    s = perf() - t0
    return result(s * 1e6 / n, "µs", n=n)


def run_w2(pool, p):
    tasks = p["tasks"]
    py_loops = p.get("py_loops") or calibrate_spin(p["task_ms"])
    serial_s = p["serial_ms"] / 1000 if p.get("serial_ms") else serial_w2(tasks, py_loops)
    t0 = perf()
    pool.gather([pool.submit(spin, py_loops, i + 1) for i in range(tasks)])
    wall = perf() - t0
    return result(
        serial_s / wall,
        "speedup",
        tasks=tasks,
        py_loops=py_loops,
        js_loops=p.get("loops"),
        serial_s=serial_s,
        wall_s=wall,
        note="vs Python's own serial time of the same loop",
    )


def run_w3(pool, p):
    if pool.name == "ppe":
        return not_applicable("tasks cannot submit tasks (no nested submit)")
    n = p["n"]
    calls = fib_calls(n)
    t0 = perf()
    pool.client.submit(dask_fib, n, pure=False).result()
    s = perf() - t0
    return result(calls / s, "tasks/s", n=n, calls=calls, seconds=s)


def run_w4(pool, p):
    durs = w4_durations(p["tasks"], p["seed"])
    total = sum(durs)
    t0 = perf()
    pool.gather([pool.submit(busy, d) for d in durs])
    wall_ms = (perf() - t0) * 1000
    ideal = total / pool.workers
    return result(wall_ms / ideal, "wall/ideal", tasks=p["tasks"], sum_ms=total, wall_ms=wall_ms, ideal_ms=ideal)


def run_w5(pool, p):
    tasks = p["tasks"]

    def timed(send):
        # As every peer (W5_BURSTS in bench/lib/workloads.mjs): one untimed burst, then the median
        # rate of W5_BURSTS timed ones, fresh arrays each time (nothing cached).
        def burst():
            arrays = [w5_payload(k) for k in range(tasks)]
            t0 = perf()
            sums = pool.gather(send(arrays))
            return tasks / (perf() - t0), sum(sums)

        burst()
        runs = [burst() for _ in range(W5_BURSTS)]
        rates = sorted(r for r, _ in runs)
        return rates[len(rates) // 2], runs[-1][1]

    if pool.name == "dask":
        # Dask's advice for large arguments is to scatter them first (the scatter is timed); plain
        # submit is tried as well, and the better of the two is the figure.
        c = pool.client
        by_mode = {}
        by_mode["scatter + map"], total = timed(lambda arrs: c.map(checksum, c.scatter(arrs, hash=False), pure=False))
        by_mode["submit(checksum, ndarray)"], _ = timed(lambda arrs: [pool.submit(checksum, a) for a in arrs])
        mode = max(by_mode, key=by_mode.get)
        return result(by_mode[mode], "MiB/s", tasks=tasks, checksum=total, mode=mode, byMode=by_mode)
    rate, total = timed(lambda arrs: [pool.submit(checksum, a) for a in arrs])
    return result(rate, "MiB/s", tasks=tasks, checksum=total, mode="submit(checksum, ndarray): pickled over a pipe")


def run_w6(peer, p):
    args = [peer, "W6-child", "--workers", str(p["workers"])]
    s = timed_process(args)
    if peer == "ppe":
        bare = timed_process([peer, "W6-child", "--workers", str(p["workers"]), "--bare"])
        return result(s, "s", note="python: with ProcessPoolExecutor(2): one no-op (forks the workers)", emptyWith_s=bare)
    return result(s, "s", note="python: LocalCluster + Client, wait for workers, close")


def w6_child(peer, p):
    if peer == "ppe":
        from concurrent.futures import ProcessPoolExecutor

        # An empty with-block starts no process at all (workers fork at the first submit), so the
        # figure submits one no-op; --bare measures the empty block for reference.
        with ProcessPoolExecutor(p["workers"]) as ex:
            if not p.get("bare"):
                ex.submit(noop).result()
    else:
        Dask(p["workers"]).close()


WORKLOADS = {"W1": run_w1, "W1s": run_w1s, "W1l": run_w1l, "W2": run_w2, "W3": run_w3, "W4": run_w4, "W5": run_w5}


def run(peer, workload, p):
    if peer == "serial":
        # Python serial reference for W2 only (see module docstring).
        if workload == "calibrate":
            return result(calibrate_spin(p["task_ms"]), "loops", task_ms=p["task_ms"])
        if workload == "W2":
            loops = p.get("py_loops") or calibrate_spin(p["task_ms"])
            s = serial_w2(p["tasks"], loops)
            return result(s, "s", tasks=p["tasks"], py_loops=loops, serial_s=s)
        return not_applicable("the Python serial peer only serves W2")
    if workload == "W6":
        return run_w6(peer, p)
    if workload == "W6-child":
        w6_child(peer, p)
        return None
    if workload not in WORKLOADS:
        raise SystemExit(f"unknown workload {workload}")
    if workload == "W3" and peer == "ppe":
        return not_applicable("tasks cannot submit tasks (no nested submit)")
    pool = PPE(p["workers"]) if peer == "ppe" else Dask(p["workers"])
    try:
        return WORKLOADS[workload](pool, p)
    finally:
        pool.close()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("peer", choices=["ppe", "dask", "serial"])
    ap.add_argument("workload")
    ap.add_argument("--n", type=int)
    ap.add_argument("--loops", type=int, help="the JS loop count of W2 (recorded; Python calibrates its own)")
    ap.add_argument("--py-loops", type=int, help="W2 Python loop count (default: calibrate to --task-ms)")
    ap.add_argument("--serial-ms", type=float, help="W2 Python serial time (default: measure it)")
    ap.add_argument("--task-ms", type=float)
    ap.add_argument("--tasks", type=int)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--chunk", type=int)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--bare", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)

    size = "quick" if a.quick else "full"
    base = a.workload.replace("-child", "")
    p = dict(SIZES[size].get(base, {}))
    if a.peer == "dask":
        p.update(DASK_SIZES[size].get(base, {}))
    for k, v in vars(a).items():
        if v is not None and k not in ("peer", "workload"):
            p[k] = v

    res = run(a.peer, a.workload, p)
    if res is not None:
        line = {"peer": a.peer, "workload": a.workload, **res}
        if a.json:
            print(json.dumps(line))
        else:
            fig = "n/a" if line["figure"] is None else line["figure"]
            print(f"{a.peer} {a.workload}: {fig} {line['unit']}  {json.dumps(line['detail'])}")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
