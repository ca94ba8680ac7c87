/* daxio: reads or writes a device-DAX (or any mappable file) through mmap, since busybox
 * cannot map. Built static by the guest tests (cc -O2 -static -o daxio daxio.c).
 *   daxio write DEV OFFSET   copies stdin into DEV at OFFSET (a store into the mapping)
 *   daxio read DEV OFFSET LEN  copies LEN bytes of DEV at OFFSET to stdout
 * The mapping covers whole 2 MiB units (device-DAX refuses smaller alignment). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define UNIT (2UL << 20)

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: daxio write DEV OFF | read DEV OFF LEN\n"); return 2; }
  int wr = strcmp(argv[1], "write") == 0;
  unsigned long off = strtoul(argv[3], 0, 0), len = 0;
  static char buf[64 << 20];
  if (wr) {
    ssize_t n;
    while (len < sizeof buf && (n = read(0, buf + len, sizeof buf - len)) > 0) len += n;
  } else {
    if (argc < 5) return 2;
    len = strtoul(argv[4], 0, 0);
  }
  int fd = open(argv[2], wr ? O_RDWR : O_RDONLY);
  if (fd < 0) { perror(argv[2]); return 1; }
  unsigned long base = off & ~(UNIT - 1), maplen = (off + len - base + UNIT - 1) & ~(UNIT - 1);
  char *p = mmap(0, maplen, wr ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, base);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  if (wr) {
    memcpy(p + (off - base), buf, len);
    msync(p, maplen, MS_SYNC); /* device-DAX may refuse it (EINVAL): its stores need none */
  } else if (write(1, p + (off - base), len) != (ssize_t)len) {
    perror("write"); return 1;
  }
  munmap(p, maplen);
  return 0;
}
