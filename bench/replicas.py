#!/usr/bin/env python3
"""Streamgate on PostgreSQL with several replicas (benchmark section 6).

Started by bench/run with the release build. Each figure is a ratio against a baseline
measured in the same run:

- pages: requests/s of a stream page and an API read under wrk with one replica, then with
  two replicas sharing the load (each pinned to its own core with taskset, as replicas on
  separate machines would not share one); the ratio is two over one.
- live fan-out: resident memory of a replica before and after 1,000 idle server-sent-event
  clients, per client, against 1,000 idle keep-alive HTTP connections as the baseline; and
  how long one change (a registry notification posted to replica A) takes to reach all
  1,000 clients of replica B.
- poller failover: from killing (SIGKILL) the replica that polls, and from stopping it
  (SIGTERM), until the other replica polls; as a ratio to the standby's lock retry interval.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TARGET = os.environ["CARGO_TARGET_DIR"]
SERVER = os.path.join(TARGET, "release", "server")
PG = os.environ.get("STREAMGATE_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")
DB_NAME = "sg_bench_replicas"
DURATION = os.environ.get("BENCH_DURATION", "8s")
CLIENTS = int(os.environ.get("BENCH_SSE_CLIENTS", "1000"))
LOCK_RETRY = 2.0
SECRET = "bench-hook-secret"
FIXTURE = os.path.join(
    os.path.dirname(__file__), "..", "server", "tests", "fixtures", "registry",
    "manifest-push-tag.json",
)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def psql(sql):
    subprocess.run(
        ["psql", PG, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True, stdout=subprocess.DEVNULL,
    )


def db_url():
    base = PG.rsplit("/", 1)[0]
    return f"{base}/{DB_NAME}"


class Replica:
    def __init__(self, name, cpu, logdir):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(logdir, f"{name}.log"), "w")
        cmd = [
            SERVER, "serve", "--demo", "--addr", f"127.0.0.1:{self.port}",
            "--database-url", db_url(), "--hook-secret", f"registry={SECRET}",
            "--poll-lock-retry", f"{int(LOCK_RETRY * 1000)}ms", "--no-promotions",
            # every client of this benchmark comes from one loopback address
            "--live-max-per-client", str(CLIENTS + 10), "--live-max-total", str(CLIENTS + 10),
        ]
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu)] + cmd
        env = dict(os.environ, LEPTOS_SITE_ROOT="target/site", RUST_LOG="warn")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, env=env)

    def pid(self):
        # taskset execs the server, so the pid is the server's
        return self.proc.pid

    def wait_ready(self, timeout=300):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception:
                pass
            if self.proc.poll() is not None:
                sys.exit(f"replica {self.name} exited; see its log")
            time.sleep(0.2)
        sys.exit(f"replica {self.name} not ready")

    def roles(self):
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as r:
                body = json.load(r)
            return {c["controller"]: c.get("role") for c in body["controllers"]}
        except Exception:
            return {}

    def rss_kib(self):
        with open(f"/proc/{self.pid()}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wrk(urls, path, connections):
    """Runs one wrk per url at once; returns the summed requests/s."""
    procs = [
        subprocess.Popen(
            ["wrk", "-t1", f"-c{connections}", f"-d{DURATION}", f"{u}{path}"],
            stdout=subprocess.PIPE, text=True,
        )
        for u in urls
    ]
    total = 0.0
    for p in procs:
        out, _ = p.communicate()
        if "Non-2xx" in out:
            sys.exit(f"wrk saw errors on {path}:\n{out}")
        total += float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return total


def open_clients(url, path, n):
    """n idle connections that sent a GET of path and read the answer's head."""
    host, port = url.split("//")[1].split(":")
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, int(port)))
        s.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()
        )
        socks.append(s)
    for s in socks:
        s.settimeout(30)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                sys.exit("a connection closed early")
            data += chunk
        # an SSE client reads its greeting; a plain one its whole (small) answer
        if b"text/event-stream" in data:
            while b"event: ready" not in data:
                data += s.recv(4096)
    return socks


def settle(replica):
    time.sleep(1.5)
    return replica.rss_kib()


def post_change(url, seq):
    with open(FIXTURE) as f:
        body = json.load(f)
    for e in body["events"]:
        e["id"] = f"bench-{seq}-{e['id']}"
    req = urllib.request.Request(
        f"{url}/api/v1/hooks/registry",
        data=json.dumps(body).encode(),
        headers={
            "content-type": "application/vnd.docker.distribution.events.v1+json",
            "authorization": f"Bearer {SECRET}",
        },
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()


def hear(groups, started, timeout=30):
    """Waits until every SSE connection of every group received a change; for each group,
    the seconds from `started` until its last connection heard it."""
    import select
    owner = {}
    for g, socks in enumerate(groups):
        for s in socks:
            owner[s.fileno()] = (g, s)
    buffers = {fd: b"" for fd in owner}
    done = [0.0] * len(groups)
    while owner:
        left = timeout - (time.time() - started)
        if left <= 0:
            sys.exit(f"{len(owner)} clients did not hear the change")
        ready, _, _ = select.select(list(owner), [], [], min(left, 1.0))
        now = time.time()
        for fd in ready:
            g, s = owner[fd]
            buffers[fd] += s.recv(65536)
            if b"event: change" in buffers[fd]:
                done[g] = max(done[g], now - started)
                buffers[fd] = b""
                del owner[fd]
    return done


def failover(replicas, sig):
    """Stops the replica that polls `origin` with `sig`; seconds until the other polls."""
    holder = next(r for r in replicas if r.roles().get("origin") == "polling")
    other = next(r for r in replicas if r is not holder)
    started = time.time()
    holder.stop(sig)
    while other.roles().get("origin") != "polling":
        if time.time() - started > 60:
            sys.exit("no takeover within 60 s")
        time.sleep(0.05)
    return holder, time.time() - started


def main():
    logdir = tempfile.mkdtemp(prefix="sg-replicas-")
    psql(f"drop database if exists {DB_NAME} with (force)")
    psql(f"create database {DB_NAME}")
    a = Replica("a", 0, logdir)
    a.wait_ready()
    b = Replica("b", 1, logdir)
    b.wait_ready()
    # let the demo's first polls settle before measuring
    time.sleep(3)

    print("| measurement | one replica | two replicas | ratio |")
    print("|---|---|---|---|")
    for path in ["/streams/4.21.0-0.okd-scos", "/api/v1/streams/4.21.0-0.okd-scos/releases"]:
        one = wrk([a.url], path, 16)
        two = wrk([a.url, b.url], path, 8)
        print(f"| requests/s of {path} (wrk, 16 connections) | {one:.0f} | {two:.0f} | {two / one:.2f} |")

    print()
    print("| live fan-out | value | baseline | ratio |")
    print("|---|---|---|---|")
    # each kind of connection is measured while the earlier ones stay open, so memory
    # freed by one is not counted again by the next
    base = settle(a)
    plain = open_clients(a.url, "/healthz", CLIENTS)
    with_plain = settle(a)
    sse = open_clients(a.url, "/api/v1/live", CLIENTS)
    with_sse = settle(a)
    per_plain = (with_plain - base) * 1024 / CLIENTS
    per_sse = (with_sse - with_plain) * 1024 / CLIENTS
    print(f"| memory per idle SSE client, {CLIENTS} clients (bytes; baseline: an idle keep-alive connection) | {per_sse:.0f} | {per_plain:.0f} | {per_sse / max(per_plain, 1):.2f} |")
    for s in plain + sse:
        s.close()
    time.sleep(1)

    # a change posted to replica A reaches every client of replica B (LISTEN/NOTIFY); the
    # median of 5 changes
    on_b = open_clients(b.url, "/api/v1/live", CLIENTS)
    on_a = open_clients(a.url, "/api/v1/live", 1)
    runs = []
    for seq in range(5):
        started = time.time()
        post_change(a.url, seq)
        runs.append(hear([on_a, on_b], started))
        time.sleep(0.5)
    local = sorted(r[0] for r in runs)[2]
    remote = sorted(r[1] for r in runs)[2]
    print(f"| one change to all {CLIENTS} clients of the other replica (ms, median of 5; baseline: one client of the replica that ingested it) | {remote * 1000:.1f} | {local * 1000:.1f} | {remote / max(local, 1e-4):.1f} |")
    for s in on_b + on_a:
        s.close()

    print()
    print(f"| poller failover | seconds | lock retry interval (s) | ratio |")
    print("|---|---|---|---|")
    stopped, took = failover([a, b], signal.SIGKILL)
    print(f"| polling replica killed (SIGKILL) until the other polls | {took:.2f} | {LOCK_RETRY:.0f} | {took / LOCK_RETRY:.2f} |")
    # bring a replacement up, then stop the polling one gracefully
    c = Replica("c", stopped is a and 0 or 1, logdir)
    c.wait_ready()
    survivors = [r for r in (a, b, c) if r.proc.poll() is None]
    stopped, took = failover(survivors, signal.SIGTERM)
    print(f"| polling replica stopped (SIGTERM, releases its lock) until the other polls | {took:.2f} | {LOCK_RETRY:.0f} | {took / LOCK_RETRY:.2f} |")
    for r in (a, b, c):
        r.stop()
    psql(f"drop database if exists {DB_NAME} with (force)")


if __name__ == "__main__":
    main()
