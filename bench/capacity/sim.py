#!/usr/bin/env python3
"""Discrete-event simulation of FitService in scale-out: C closed-loop clients POST small fits to N API processes;
M worker processes (T threads each) claim them from the shared store in chunks and run them; PostgreSQL does the
inserts, claims and ends. Every step is CPU work on a pool of cores: one shared pool (this machine: everything on the
same cores) or one pool per role (API, workers, database on machines of their own). Service times are CPU
milliseconds per fit, measured by bench/scaleout.sh (its "cpu seconds" lines divided by the fits run). Prints fits/s
and the submitted -> ended p50/p99, the figures phase b of bench/ScaleOut.Bench prints.

Usage: sim.py --api-ms A --worker-ms W --db-ms D [--clients 8] [--api 1] [--workers 1] [--threads 2]
              [--cores 2 | --api-cores 2 --worker-cores 2 --db-cores 4] [--fits 20000] [--chunk 32]
"""
import argparse
import heapq
import itertools
import math
import random


class Pool:
    """c identical cores, first come first served: a task waits for a free core, then holds it for its service time."""

    def __init__(self, sim, cores):
        self.sim, self.free, self.waiting = sim, cores, []

    def run(self, ms, then):
        if self.free > 0:
            self.free -= 1
            self.sim.at(ms, lambda: self._done(then))
        else:
            self.waiting.append((ms, then))

    def _done(self, then):
        if self.waiting:
            ms, next_then = self.waiting.pop(0)
            self.sim.at(ms, lambda: self._done(next_then))
        else:
            self.free += 1
        then()


class Sim:
    def __init__(self):
        self.now, self.events, self.seq = 0.0, [], itertools.count()

    def at(self, delay, action):
        heapq.heappush(self.events, (self.now + delay, next(self.seq), action))

    def run(self, until):
        while self.events and not until():
            self.now, _, action = heapq.heappop(self.events)
            action()


def simulate(a, seed=1):
    rng = random.Random(seed)
    sim = Sim()
    if a.cores:
        api_pool = worker_pool = db_pool = Pool(sim, a.cores)
    else:
        api_pool = Pool(sim, a.api * a.api_cores)
        worker_pool = Pool(sim, a.workers * a.worker_cores)
        db_pool = Pool(sim, a.db_cores)
    # Service times vary: exponential around the measured means (a fit's own work varies little; scheduling does).
    def svc(mean):
        return rng.expovariate(1 / mean) if mean > 0 else 0.0

    queue, idle_threads, ended, latencies = [], [], [0], []
    submitted = [0]

    def client():
        if submitted[0] >= a.fits:
            return
        submitted[0] += 1
        t0 = sim.now
        # The API's part of a POST, then the insert; the answer goes back and the client sends the next one.
        api_pool.run(svc(a.api_ms), lambda: db_pool.run(svc(a.db_ms / 2), lambda: stored(t0)))

    def stored(t0):
        queue.append(t0)
        sim.at(a.rtt_ms, client)
        if idle_threads:
            sim.at(a.wake_ms, idle_threads.pop())

    def thread():
        if not queue:
            idle_threads.append(thread)
            return
        chunk = [queue.pop(0) for _ in range(min(a.chunk, len(queue)))]
        run_chunk(chunk)

    def run_chunk(chunk):
        if not chunk:
            thread()
            return
        t0 = chunk.pop(0)
        # The worker's part of one fit (engine, reads, signals), then its share of the database's work to end it.
        worker_pool.run(svc(a.worker_ms), lambda: db_pool.run(svc(a.db_ms / 2), lambda: end(t0, chunk)))

    def end(t0, chunk):
        ended[0] += 1
        latencies.append(sim.now - t0)
        run_chunk(chunk)

    for _ in range(a.clients):
        sim.at(0, client)
    for _ in range(a.workers * a.threads):
        sim.at(0, thread)
    sim.run(lambda: ended[0] >= a.fits)
    warm = latencies[len(latencies) // 10:]
    warm_sorted = sorted(warm)
    return {
        "fits_per_s": a.fits / (sim.now / 1000),
        "p50_ms": warm_sorted[len(warm_sorted) // 2],
        "p99_ms": warm_sorted[min(len(warm_sorted) - 1, int(len(warm_sorted) * 0.99))],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--api-ms", type=float, required=True, help="API CPU ms per fit")
    p.add_argument("--worker-ms", type=float, required=True, help="worker CPU ms per fit")
    p.add_argument("--db-ms", type=float, required=True, help="PostgreSQL CPU ms per fit (half at insert, half at end)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--api", type=int, default=1, help="API processes")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--threads", type=int, default=2, help="worker threads per worker process")
    p.add_argument("--cores", type=float, default=0, help="one shared pool of cores (this machine); 0: a pool per role")
    p.add_argument("--api-cores", type=int, default=2)
    p.add_argument("--worker-cores", type=int, default=2)
    p.add_argument("--db-cores", type=int, default=4)
    p.add_argument("--chunk", type=int, default=32)
    p.add_argument("--rtt-ms", type=float, default=0.2, help="network time of a POST's answer")
    p.add_argument("--wake-ms", type=float, default=1.0, help="NOTIFY wake-up of an idle worker thread")
    p.add_argument("--fits", type=int, default=20000)
    a = p.parse_args()
    if a.cores:
        # A fraction of the machine (other work shares the cores): whole cores, each slower by the same factor.
        whole = max(1, math.ceil(a.cores))
        a.api_ms, a.worker_ms, a.db_ms = (v * whole / a.cores for v in (a.api_ms, a.worker_ms, a.db_ms))
        a.cores = whole
    r = simulate(a)
    print(f"predicted: {r['fits_per_s']:.0f} fits/s, submitted -> ended p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms "
          f"({a.api} API, {a.workers} worker processes x {a.threads} threads, {a.clients} clients, "
          f"{'%g shared cores' % a.cores if a.cores else 'cores per role %d/%d/%d' % (a.api_cores, a.worker_cores, a.db_cores)})")


if __name__ == "__main__":
    main()
