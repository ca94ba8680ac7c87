#!/usr/bin/env python3
"""crash_writer.py DIR LOG [--check | --threads N]: the write-heavy workload of zfs_crash.bats.

Files DIR/f0..f7 hold versions: version v of file i is the line "f<i> v<v>" repeated to
SIZE bytes, written in place over the previous version by one pwrite (one FUSE request, so
one change of one txg: a txg closing at any moment holds a whole version; on a dataset with
recordsize=16K a version spans 8 blocks, so a torn write would show mixed lines). Every 4th
version of a file is fsync'ed, and "i v" is appended to LOG (outside the pool) only after
fsync returned: the version that must survive a crash. New small files n<k> come and go too.

--threads N (zil.bats): N threads, each with the files i = t mod N, fsync every version of
them (commits of the intent log racing each other), no small files.

CRASH_WRITER_MIXED=1 (zil.bats): the odd files are 8 KiB (their fsyncs log the bytes) and the
even ones 128 KiB (on recordsize=128K, logged by block pointer, WR_INDIRECT).

--check: exits 1, saying why, unless every file present holds exactly one whole version
that is at least its last durable one in LOG; prints "i v" per file (the versions found)."""
import os
import sys
import threading

SIZE = 128 * 1024  # at most the FUSE mount's smallest max_write
NFILES = 8
MIXED = os.environ.get("CRASH_WRITER_MIXED") == "1"


def size(i):
    return 8192 if MIXED and i % 2 else SIZE


def content(i, v):
    line = ("f%d v%d\n" % (i, v)).encode()
    return (line * (size(i) // len(line) + 1))[:size(i)]


def version_of(data, i):
    if len(data) != size(i):
        raise ValueError("size %d" % len(data))
    first = data.split(b"\n", 1)[0].decode(errors="replace")
    parts = first.split()
    if len(parts) != 2 or parts[0] != "f%d" % i or not parts[1].startswith("v"):
        raise ValueError("bad first line %r" % first)
    v = int(parts[1][1:])
    if data != content(i, v):
        raise ValueError("mixed versions (starts as v%d)" % v)
    return v


def durable(log):
    d = {}
    if os.path.exists(log):
        for line in open(log):
            p = line.split()
            if len(p) == 2:
                d[int(p[0])] = max(d.get(int(p[0]), 0), int(p[1]))
    return d


def check(dir_, log):
    d = durable(log)
    bad = False
    for i in range(NFILES):
        path = os.path.join(dir_, "f%d" % i)
        if not os.path.exists(path):
            if d.get(i, 0):
                print("f%d: missing, durable v%d" % (i, d[i]))
                bad = True
            continue
        try:
            v = version_of(open(path, "rb").read(), i)
        except ValueError as e:
            print("f%d: %s" % (i, e))
            bad = True
            continue
        if v < d.get(i, 0):
            print("f%d: v%d older than durable v%d" % (i, v, d[i]))
            bad = True
        print(i, v)
    return 1 if bad else 0


def run(dir_, log):
    start = {}
    for i in range(NFILES):
        try:
            start[i] = version_of(open(os.path.join(dir_, "f%d" % i), "rb").read(), i)
        except (OSError, ValueError):
            start[i] = 0
    v = max(start.values()) + 1
    k = 0
    logf = open(log, "a")
    while True:
        for i in range(NFILES):
            data = content(i, v)
            fd = os.open(os.path.join(dir_, "f%d" % i), os.O_WRONLY | os.O_CREAT, 0o644)
            if os.pwrite(fd, data, 0) != size(i):
                raise OSError("short write")
            if v % 4 == 0:
                os.fsync(fd)
                logf.write("%d %d\n" % (i, v))
                logf.flush()
            os.close(fd)
        k += 1
        with open(os.path.join(dir_, "n%d" % k), "wb") as f:
            f.write(os.urandom(3000))
        if k > 5:
            try:
                os.unlink(os.path.join(dir_, "n%d" % (k - 5)))
            except OSError:
                pass
        v += 1


def run_threads(dir_, log, n):
    start = {}
    for i in range(NFILES):
        try:
            start[i] = version_of(open(os.path.join(dir_, "f%d" % i), "rb").read(), i)
        except (OSError, ValueError):
            start[i] = 0
    logf = open(log, "a")
    log_mu = threading.Lock()

    def worker(t):
        v = max(start.values()) + 1
        try:
            while True:
                for i in range(t, NFILES, n):
                    fd = os.open(os.path.join(dir_, "f%d" % i), os.O_WRONLY | os.O_CREAT, 0o644)
                    if os.pwrite(fd, content(i, v), 0) != size(i):
                        raise OSError("short write")
                    os.fsync(fd)
                    with log_mu:
                        logf.write("%d %d\n" % (i, v))
                        logf.flush()
                    os.close(fd)
                v += 1
        except OSError:
            pass  # the daemon died under us: expected

    ts = [threading.Thread(target=worker, args=(t,)) for t in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[3] == "--check":
        sys.exit(check(sys.argv[1], sys.argv[2]))
    try:
        if len(sys.argv) > 4 and sys.argv[3] == "--threads":
            run_threads(sys.argv[1], sys.argv[2], int(sys.argv[4]))
        else:
            run(sys.argv[1], sys.argv[2])
    except OSError:
        sys.exit(0)  # the daemon died under us: expected
