/* daxlog: a log of numbered records stored through a libzfs mapping of a DAX file, for the
 * power-cut test of tests/bats/dax_guest.bats.
 *   daxlog store FILE SEED   maps FILE (a DAX file) with uzfs_mmap and stores records
 *                            1, 2, ... into it, one 64-byte slot each; after uzfs_persist
 *                            of record N returns it prints "PERSISTED N" (so every number
 *                            printed is durable), until the file is full or the power goes
 *   daxlog verify FILE SEED  reads FILE (plain read(2) of 1 MiB, through the mount) and prints
 *                            "HAVE N": records 1..N are all there and right for SEED
 *   daxlog prefix FILE SEED  the same, and fails (exit 1, "GAP AT K") unless FILE holds
 *                            nothing else: slot N+1 may hold part of its record (a copy
 *                            cut by a snapshot's pause: each byte the record's or zero),
 *                            every later slot is zeros
 * A record's bytes follow from SEED and its number alone, so a torn or missing record, or
 * one of another run, does not verify. Built by the guest tests against libuzfs_file. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uzfs/file.h"

#define SLOT 64

static void fill(uint64_t seed, uint64_t n, uint64_t rec[SLOT / 8]) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL ^ n;
  rec[0] = seed;
  rec[1] = n;
  for (int i = 2; i < SLOT / 8; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
    rec[i] = x;
  }
}

static int store(const char *path, uint64_t seed) {
  uzfs_file *f = uzfs_open(path, O_RDWR, 0);
  if (!f) { perror(path); return 1; }
  struct stat st;
  if (uzfs_fstat(f, &st) != 0 || st.st_size < SLOT) { fprintf(stderr, "%s: empty\n", path); return 1; }
  size_t len = (size_t)st.st_size;
  char *p = uzfs_mmap(f, len, PROT_READ | PROT_WRITE, 0);
  if (p == MAP_FAILED) { perror("uzfs_mmap"); return 1; }
  for (uint64_t n = 1; n * SLOT <= len; n++) {
    uint64_t rec[SLOT / 8];
    fill(seed, n, rec);
    memcpy(p + (n - 1) * SLOT, rec, SLOT);
    if (uzfs_persist(f, p + (n - 1) * SLOT, SLOT) != 0) { perror("uzfs_persist"); return 1; }
    printf("PERSISTED %llu\n", (unsigned long long)n);
    fflush(stdout);
    usleep(500);
  }
  return 0;
}

/* The slots of FILE one after another, read in large reads: the mount reads a DAX file
 * uncached, one round trip a read (a 64-byte read each would cost seconds under emulation). */
struct slots { int fd; char buf[1 << 20]; size_t have, at; };

static struct slots *slots_open(const char *path) {
  struct slots *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->fd = open(path, O_RDONLY);
  if (s->fd < 0) { perror(path); free(s); return NULL; }
  return s;
}

/* The next whole slot into rec; 0 at the end of the file. */
static int slots_next(struct slots *s, uint64_t rec[SLOT / 8]) {
  if (s->at + SLOT > s->have) {
    size_t left = s->have - s->at;
    memmove(s->buf, s->buf + s->at, left);
    s->have = left, s->at = 0;
    for (;;) {
      ssize_t n = read(s->fd, s->buf + s->have, sizeof s->buf - s->have);
      if (n <= 0) break;
      s->have += (size_t)n;
      if (s->have >= SLOT) break;
    }
    if (s->have < SLOT) return 0;
  }
  memcpy(rec, s->buf + s->at, SLOT);
  s->at += SLOT;
  return 1;
}

static int verify(const char *path, uint64_t seed) {
  struct slots *s = slots_open(path);
  if (!s) return 1;
  uint64_t n = 0, rec[SLOT / 8], want[SLOT / 8];
  while (slots_next(s, rec)) {
    fill(seed, n + 1, want);
    if (memcmp(rec, want, SLOT) != 0) break;
    n++;
  }
  printf("HAVE %llu\n", (unsigned long long)n);
  return 0;
}

static int prefix(const char *path, uint64_t seed) {
  struct slots *s = slots_open(path);
  if (!s) return 1;
  uint64_t n = 0, k, rec[SLOT / 8], want[SLOT / 8];
  int more = 0;
  while (slots_next(s, rec)) {
    fill(seed, n + 1, want);
    if (memcmp(rec, want, SLOT) != 0) { more = 1; break; }
    n++;
  }
  printf("HAVE %llu\n", (unsigned long long)n);
  if (!more) return 0;
  /* rec is slot n+1: part of its record at most. */
  const unsigned char *r = (const unsigned char *)rec, *w = (const unsigned char *)want;
  for (int i = 0; i < SLOT; i++)
    if (r[i] != 0 && r[i] != w[i]) { printf("GAP AT %llu\n", (unsigned long long)n + 1); return 1; }
  for (k = n + 2; slots_next(s, rec); k++)
    for (int i = 0; i < SLOT / 8; i++)
      if (rec[i]) { printf("GAP AT %llu\n", (unsigned long long)k); return 1; }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: daxlog store|verify|prefix FILE SEED\n"); return 2; }
  uint64_t seed = strtoull(argv[3], 0, 0);
  if (strcmp(argv[1], "store") == 0) return store(argv[2], seed);
  if (strcmp(argv[1], "verify") == 0) return verify(argv[2], seed);
  if (strcmp(argv[1], "prefix") == 0) return prefix(argv[2], seed);
  fprintf(stderr, "usage: daxlog store|verify|prefix FILE SEED\n");
  return 2;
}
