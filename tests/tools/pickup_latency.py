#!/usr/bin/env python3
"""Pick-up latency of an idle worker for jobs pushed by a raw RPUSH (no
PUBLISH), as any producer pushes them.

Starts a private redis-server and the test worker binary on the default
interval, pushes N `Stamp` jobs spaced apart with a bare RPUSH, and prints
p50/p99/max of push time -> job start time. Not part of the test suite.

    cargo build -p resque-tests --bin test-worker
    python3 tests/tools/pickup_latency.py target/debug/test-worker [N] [gap_ms] [worker args...]

With PUBLISH=1 in the environment each push also publishes on `wake`, as
resque-rs's own pushes do, for comparison.
"""
import os, socket, subprocess, sys, tempfile, time


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def main():
    worker = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    gap = (int(sys.argv[3]) if len(sys.argv) > 3 else 20) / 1000.0
    tmp = tempfile.mkdtemp()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", tmp], stdout=subprocess.DEVNULL)
    out = os.path.join(tmp, "out")
    w = None
    try:
        for _ in range(200):
            try:
                conn = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.02)
        env = {"PATH": os.environ["PATH"], "RESQUE_REDIS": "redis://127.0.0.1:%d/0" % port}
        w = subprocess.Popen([worker, "work", "-q", "stamp"] + sys.argv[4:], env=env, stderr=subprocess.DEVNULL)
        time.sleep(2)  # registered and idle
        for _ in range(n):
            pushed = time.time_ns() // 1000
            job = '{"class":"Stamp","args":["%s",%d]}' % (out, pushed)
            if os.environ.get("PUBLISH"):
                # As resque-rs pushes: the push and a wake-up message, one round trip.
                conn.sendall(resp("RPUSH", "resque:queue:stamp", job) + resp("PUBLISH", "resque:wake", "stamp"))
                got = b""
                while got.count(b"\r\n") < 2:
                    got += conn.recv(64)
            else:
                conn.sendall(resp("RPUSH", "resque:queue:stamp", job))
                conn.recv(64)
            time.sleep(gap)
        deadline = time.time() + 30
        lats = []
        while time.time() < deadline:
            lines = open(out).read().split() if os.path.exists(out) else []
            if len(lines) >= 2 * n:
                lats = sorted((int(b) - int(a)) / 1000.0 for a, b in zip(lines[::2], lines[1::2]))
                break
            time.sleep(0.2)
        if not lats:
            print("only %d of %d jobs ran" % (len(lines) // 2, n))
            return 1
        pick = lambda q: lats[min(len(lats) - 1, int(q * len(lats)))]
        print("jobs=%d p50=%.3fms p99=%.3fms max=%.3fms" % (len(lats), pick(0.5), pick(0.99), lats[-1]))
    finally:
        if w:
            w.terminate()
            w.wait()
        redis.kill()
        redis.wait()


if __name__ == "__main__":
    sys.exit(main())
