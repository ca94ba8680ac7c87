#!/usr/bin/env python3
"""A client of libzfs's file API (libuzfs_file.so, through ctypes) for the mmap tests.

  map_client.py LIB poke FILE OFFSET BYTE       store BYTE at OFFSET through a writable
                                                mapping, then msync(MS_SYNC)
  map_client.py LIB writer FILE SYNCS STATE     store into a mapping of FILE in a loop while
                                                another thread msyncs SYNCS times; stop, sync,
                                                write the final contents' sha256 to STATE
  map_client.py LIB dirty-then-wait FILE READY  store pattern 0x5a into every page (one
                                                msync), then pattern 0xa5 without syncing,
                                                write READY, then touch every page again
                                                and again: exits by SIGBUS once zfsd is gone
  map_client.py LIB read FILE                   print the sha256 of FILE read with uzfs_pread
  map_client.py LIB poke-late FILE OFFSET BYTE DELAY   map FILE writable (its size at the
                                                start), wait DELAY seconds, store BYTE at
                                                OFFSET, msync(MS_SYNC)
  map_client.py LIB peek FILE OFFSET [DELAY]    map FILE (read-only, its size at the start),
                                                with DELAY say "mapped" on stderr and wait
                                                DELAY seconds, print the byte at OFFSET
                                                in hex (SIGBUS past the end of the file)
  map_client.py LIB slow-read FILE PAUSE        map FILE read-only and read it in order, one
                                                byte a page, pausing PAUSE seconds every 128
                                                KiB; print the sha256 of the mapping
  map_client.py LIB map-rss FILE SECONDS        map FILE read-only and touch nothing; print
                                                the process's RssShmem in bytes once it
                                                reaches FILE's size, or after SECONDS
  map_client.py LIB truncate FILE SIZE          uzfs_ftruncate FILE to SIZE
  map_client.py LIB dax-cut FILE READY GO SIZE  map FILE writable (its size at the start),
                                                write READY, wait for GO to exist, print the
                                                sha256 of the mapping's first SIZE bytes, then
                                                read the first byte of the page after SIZE
                                                (SIGBUS once FILE was cut to SIZE)
  map_client.py LIB dax-hold FILE READY GO     map FILE writable, write "ADDR SIZE" (the
                                                mapping's) to READY, hold the mapping until
                                                GO exists
  map_client.py LIB counter FILE READY STOP [SUM]  map FILE writable and store the records
                                                1, 2, 3, ... (8 bytes each, little-endian) in
                                                order from its start, one store each,
                                                persisted every 512 records, until STOP exists
                                                or FILE is full; write READY after the first
                                                1024; print the last record stored; with SUM,
                                                write there the sha256 of the mapping after
                                                the last persist
  map_client.py LIB prefix FILE                 print how many records 1, 2, ... FILE holds in
                                                order from its start; fail when anything but
                                                zeros follows them (a gap, a torn record)
  map_client.py LIB runs FILE                   print the runs of records FILE holds at their
                                                places (record k, 1-based, is k), as "a-b"
                                                each, between zeros; fail on anything else
"""
import ctypes
import hashlib
import mmap
import os
import sys
import threading
import time

PROT_READ, PROT_WRITE = 1, 2
MS_SYNC = 4


def load(lib):
    z = ctypes.CDLL(lib, use_errno=True)
    z.uzfs_open.restype = ctypes.c_void_p
    z.uzfs_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint]
    z.uzfs_mmap.restype = ctypes.c_void_p
    z.uzfs_mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_long]
    z.uzfs_msync.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    z.uzfs_munmap.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    z.uzfs_close.argtypes = [ctypes.c_void_p]
    z.uzfs_pread.restype = ctypes.c_ssize_t
    z.uzfs_pread.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long]
    return z


def check(ok, what):
    if not ok:
        e = ctypes.get_errno()
        sys.exit(f"map_client: {what}: {os.strerror(e)}")


def open_map(z, path, writable=True):
    f = z.uzfs_open(path.encode(), os.O_RDWR if writable else os.O_RDONLY, 0)
    check(f, f"open {path}")
    size = os.stat(path).st_size
    addr = z.uzfs_mmap(f, size, PROT_READ | (PROT_WRITE if writable else 0), 0)
    check(addr not in (None, ctypes.c_void_p(-1).value), f"mmap {path}")
    return f, addr, size


def main():
    lib, cmd, path = sys.argv[1], sys.argv[2], sys.argv[3]
    z = load(lib)
    page = mmap.PAGESIZE
    if cmd in ("poke", "poke-late"):
        off, byte = int(sys.argv[4]), int(sys.argv[5], 0)
        f, addr, size = open_map(z, path)
        if cmd == "poke-late":
            time.sleep(float(sys.argv[6]))
        ctypes.memset(addr + off, byte, 1)
        check(z.uzfs_msync(f, addr, size, MS_SYNC) == 0, "msync")
        z.uzfs_munmap(f, addr, size)
        z.uzfs_close(f)
    elif cmd == "writer":
        syncs, state = int(sys.argv[4]), sys.argv[5]
        f, addr, size = open_map(z, path)
        stop = threading.Event()
        rounds = [0]

        def store():
            # Every round rewrites every page with a different byte per page and round.
            while not stop.is_set():
                r = rounds[0]
                for p in range(0, size, page):
                    ctypes.memset(addr + p, (r + p // page) & 0xFF, min(page, size - p))
                rounds[0] = r + 1

        t = threading.Thread(target=store)
        t.start()
        done = 0
        while done < syncs:
            time.sleep(0.05)
            check(z.uzfs_msync(f, addr, size, MS_SYNC) == 0, "msync")
            done += 1
        stop.set()
        t.join()
        check(z.uzfs_msync(f, addr, size, MS_SYNC) == 0, "final msync")
        digest = hashlib.sha256(ctypes.string_at(addr, size)).hexdigest()
        with open(state, "w") as out:
            out.write(f"{digest} {rounds[0]} {done}\n")
        z.uzfs_munmap(f, addr, size)
        z.uzfs_close(f)
    elif cmd == "dirty-then-wait":
        ready = sys.argv[4]
        f, addr, size = open_map(z, path)
        ctypes.memset(addr, 0x5A, size)
        check(z.uzfs_msync(f, addr, size, MS_SYNC) == 0, "msync")
        ctypes.memset(addr, 0xA5, size)
        with open(ready, "w") as out:
            out.write("ready\n")
        deadline = time.time() + 60
        while time.time() < deadline:
            for p in range(0, size, page):
                b = ctypes.string_at(addr + p, 1)[0]
                if b != 0xA5:
                    # Wrong bytes (zeros from an unserved hole): the failure the design forbids.
                    sys.exit(f"map_client: page {p // page} reads {b:#x}, not 0xa5")
            time.sleep(0.01)
        sys.exit("map_client: no SIGBUS within 60 s of zfsd going away")
    elif cmd == "read":
        f = z.uzfs_open(path.encode(), os.O_RDONLY, 0)
        check(f, f"open {path}")
        h = hashlib.sha256()
        buf = ctypes.create_string_buffer(1 << 20)
        off = 0
        while True:
            n = z.uzfs_pread(f, buf, len(buf), off)
            check(n >= 0, "pread")
            if n == 0:
                break
            h.update(buf.raw[:n])
            off += n
        print(h.hexdigest())
        z.uzfs_close(f)
    elif cmd == "peek":
        off = int(sys.argv[4])
        delay = float(sys.argv[5]) if len(sys.argv) > 5 else 0
        f, addr, size = open_map(z, path, writable=False)
        if delay > 0:
            print("mapped", file=sys.stderr, flush=True)
        time.sleep(delay)
        print(f"{ctypes.string_at(addr + off, 1)[0]:02x}")
        sys.stdout.flush()
        z.uzfs_munmap(f, addr, size)
        z.uzfs_close(f)
    elif cmd == "slow-read":
        pause = float(sys.argv[4])
        f, addr, size = open_map(z, path, writable=False)
        for p in range(0, size, page):
            ctypes.string_at(addr + p, 1)
            if (p + page) % (128 << 10) == 0:
                time.sleep(pause)
        print(hashlib.sha256(ctypes.string_at(addr, size)).hexdigest())
        z.uzfs_munmap(f, addr, size)
        z.uzfs_close(f)
    elif cmd == "map-rss":
        seconds = float(sys.argv[4])
        f, addr, size = open_map(z, path, writable=False)
        deadline = time.time() + seconds
        while True:
            with open("/proc/self/status") as st:
                rss = next(int(l.split()[1]) * 1024 for l in st if l.startswith("RssShmem:"))
            if rss >= size or time.time() >= deadline:
                break
            time.sleep(0.05)
        print(rss)
        z.uzfs_munmap(f, addr, size)
        z.uzfs_close(f)
    elif cmd == "truncate":
        f = z.uzfs_open(path.encode(), os.O_RDWR, 0)
        check(f, f"open {path}")
        z.uzfs_ftruncate.argtypes = [ctypes.c_void_p, ctypes.c_long]
        check(z.uzfs_ftruncate(f, int(sys.argv[4])) == 0, "ftruncate")
        z.uzfs_close(f)
    elif cmd == "dax-cut":
        ready, go, cut = sys.argv[4], sys.argv[5], int(sys.argv[6])
        f, addr, size = open_map(z, path)
        with open(ready, "w") as out:
            out.write("ready\n")
        while not os.path.exists(go):
            time.sleep(0.02)
        print(hashlib.sha256(ctypes.string_at(addr, cut)).hexdigest(), flush=True)
        past = (cut + page - 1) // page * page
        print(f"{ctypes.string_at(addr + past, 1)[0]:02x}", flush=True)  # SIGBUS expected
    elif cmd == "dax-hold":
        # Maps the file writable, says where ("ADDR SIZE" in the ready file, whole), holds
        # the mapping until the go file exists.
        ready, go = sys.argv[4], sys.argv[5]
        f, addr, size = open_map(z, path)
        with open(ready + ".tmp", "w") as out:
            out.write(f"{addr} {size}\n")
        os.rename(ready + ".tmp", ready)
        while not os.path.exists(go):
            time.sleep(0.02)
    elif cmd == "counter":
        ready, stop = sys.argv[4], sys.argv[5]
        f, addr, size = open_map(z, path)
        z.uzfs_persist.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        n = size // 8
        recs = (ctypes.c_uint64 * n).from_address(addr)
        i = 0
        while i < n:
            recs[i] = i + 1
            i += 1
            if i % 512 == 0:
                check(z.uzfs_persist(f, addr + (i - 512) * 8, 512 * 8) == 0, "persist")
                if i == 1024:
                    with open(ready, "w") as out:
                        out.write("ready\n")
                if os.path.exists(stop):
                    break
                time.sleep(0.0005)
        check(z.uzfs_persist(f, addr, size) == 0, "persist")
        print(i, flush=True)
        if len(sys.argv) > 6:
            with open(sys.argv[6], "w") as out:
                out.write(hashlib.sha256(ctypes.string_at(addr, size)).hexdigest() + "\n")
        z.uzfs_munmap(f, addr, size)
        z.uzfs_close(f)
    elif cmd == "prefix":
        with open(path, "rb") as inp:
            data = inp.read()
        n = len(data) // 8
        vals = memoryview(data)[: n * 8].cast("Q")
        k = 0
        while k < n and vals[k] == k + 1:
            k += 1
        rest = bytes(data[k * 8:])
        if rest.count(0) != len(rest):
            j = next(i for i in range(k, n) if vals[i] != 0)
            sys.exit(f"map_client: {path}: records 1..{k}, then zeros up to record {j} ({vals[j]}), not zeros to the end")
        print(k)
    elif cmd == "runs":
        with open(path, "rb") as inp:
            data = inp.read()
        vals = memoryview(data)[: len(data) // 8 * 8].cast("Q")
        runs, start = [], None
        for k, v in enumerate(vals):
            if v == k + 1:
                if start is None:
                    start = k + 1
                continue
            if start is not None:
                runs.append(f"{start}-{k}")
                start = None
            if v != 0:
                sys.exit(f"map_client: {path}: record {k + 1} holds {v}")
        if start is not None:
            runs.append(f"{start}-{len(vals)}")
        print(" ".join(runs))
    else:
        sys.exit(f"map_client: unknown command {cmd}")


if __name__ == "__main__":
    main()
