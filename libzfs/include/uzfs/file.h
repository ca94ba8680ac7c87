/*
 * uzfs file API: files of uzfs datasets for programs in any language (a C ABI, libuzfs_file.so).
 *
 * A uzfs_file is an open regular file of a dataset served by zfsd. Each one has its own
 * connection to zfsd ($UZFS_SOCKET, default /run/uzfs/zfsd.sock); calls on one uzfs_file are
 * serialized, different uzfs_files may be used from different threads at once.
 *
 * mmap maps the ARC's own pages: zfsd keeps the file's cached data in a memfd and hands it over
 * (SCM_RIGHTS); the mapping IS the cache, so any number of processes mapping a file share one
 * copy, and bytes stored through a mapping are seen at once by uzfs_pread, by the FUSE mount's
 * read(2) and by every other mapping. The library registers each mapping with a userfaultfd
 * it creates (UFFD_USER_MODE_ONLY, no privilege needed) and passes it to zfsd, which then
 * serves the mapping's page faults: pages zfsd's ARC evicted are read back (verified,
 * decompressed) on the next touch, holes read as zeros without allocating anything on disk,
 * and the first store into a clean record charges it to the open transaction group (that is
 * when EDQUOT/ENOSPC is decided). Stored bytes reach disk with the next txg sync (within
 * about 5 seconds) or at uzfs_msync(MS_SYNC).
 *
 * Speed: zfsd reads ahead of a mapping that faults in order (sequential MISSING faults grow a
 * window of records it reads into the ARC before they are touched), and the library maps the
 * part of a new mapping (of 2 MiB or more) that is already in the ARC from a thread of its
 * own, at low priority, while the caller goes on (MADV_POPULATE_READ: pages mapped read-only,
 * a first store still faults to zfsd; nothing missing is read in by it). UZFS_PREFAULT=0 in
 * the environment turns that thread off.
 *
 * Failure model: if zfsd goes away (crash, SIGKILL) or cannot serve a fault of a mapping (an
 * I/O error, out of space on a first store, the pool exported), the library replaces every
 * mapping of that uzfs_file by one that raises SIGBUS on access, and later calls fail with
 * ENOTCONN. A process never reads wrong bytes from a mapping and never hangs on one. Stores
 * not yet synced are lost, as a crash loses them on any file system; the pool stays consistent
 * at its last synced txg.
 *
 * Without userfaultfd (a kernel without it, a sysctl forbidding it, or UZFS_NO_UFFD=1 in the
 * environment) mappings still work: zfsd reads the whole range into the ARC and pins it there
 * while it is mapped (ENOMEM when the ARC cannot hold it), and finds the records stored into
 * by comparing hashes at each txg sync. The ARC cannot evict such a mapping, and a store is
 * charged to a txg (EDQUOT/ENOSPC decided) only at that sync.
 *
 * DAX files (created in a dataset with dax=on, zfsprops(7)) are mapped otherwise: the mapping
 * is the device-DAX persistent memory their data lives on, mapped by the library itself
 * (MAP_SHARED_VALIDATE|MAP_SYNC) from the device descriptors zfsd sends; zfsd serves no
 * faults, there is no cache and no copy. Every extent the mapping covers (2 MiB each, up to
 * the end of the file rounded up to one) is allocated, and its allocation synced, before
 * uzfs_mmap returns; stores are durable once uzfs_persist returns. While a DAX file is
 * mapped, its dataset cannot be rolled back or destroyed and its pool not exported (EBUSY);
 * unlinking it keeps its extents until the next mount. zfsd may have the library's watcher
 * thread replace parts of the mapping at the same addresses: a snapshot of the dataset
 * pauses it (accesses wait, then go on with the file's extents after the snapshot), and a
 * truncate to a smaller size takes its pages past the new end away (SIGBUS there, for good
 * in this mapping). If zfsd goes away the mapping becomes inaccessible (SIGSEGV):
 * what was persisted is on the device.
 *
 * Every function returns -1 (or NULL, or MAP_FAILED) and sets errno on error, like the POSIX
 * call it is named after.
 */
#ifndef UZFS_FILE_H
#define UZFS_FILE_H

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uzfs_file uzfs_file;

/* Opens PATH, an absolute path inside a dataset zfsd has mounted (symbolic links in it are
 * resolved by the library first). flags: O_RDONLY, O_WRONLY or O_RDWR, with O_CREAT, O_EXCL,
 * O_TRUNC; mode applies to a created file (the process umask is applied). The caller's uid and
 * gid decide access as on a kernel file system. Errors as open(2): ENOENT, EACCES, EISDIR,
 * EEXIST, EROFS, ELOOP, EINVAL (not a regular file, or PATH not in a mounted uzfs dataset
 * gives ENOENT), ECONNREFUSED/ENOENT when zfsd is not running. */
uzfs_file *uzfs_open(const char *path, int flags, mode_t mode);

/* Opens PATH relative to the root of DATASET ("pool/fs"), mounted or not. Symbolic links are
 * not followed (ELOOP). */
uzfs_file *uzfs_open_dataset(const char *dataset, const char *path, int flags, mode_t mode);

ssize_t uzfs_pread(uzfs_file *f, void *buf, size_t count, off_t offset);
ssize_t uzfs_pwrite(uzfs_file *f, const void *buf, size_t count, off_t offset);

/* st_ino is the object number, st_dev 0; st_blocks counts what the file takes on disk as of
 * the last sync. */
int uzfs_fstat(uzfs_file *f, struct stat *st);
int uzfs_ftruncate(uzfs_file *f, off_t length);

/* A shared mapping (MAP_SHARED semantics; prot is PROT_READ or PROT_READ|PROT_WRITE) of
 * [offset, offset+length) of the file; offset must be a multiple of the page size. Touching
 * bytes past the end of the file (in whole pages) raises SIGBUS, as on a kernel file system;
 * the mapping follows the file's size as it grows or shrinks. */
void *uzfs_mmap(uzfs_file *f, size_t length, int prot, off_t offset);

/* MS_SYNC: returns once the stores into [addr, addr+length) of a mapping of f (every mapping
 * of f when addr is NULL) and every write to the file's dataset are durable: they go to the
 * dataset's intent log (as a kernel ZFS's msync does), or the pool's open txg is synced when
 * the log cannot take them. With the dataset's sync property disabled it returns once they
 * are in the open txg (zfsprops(7)). ENOMEM when addr is not in a mapping of f.
 * MS_ASYNC: nothing to do (stores are already in the cache every reader sees). */
int uzfs_msync(uzfs_file *f, void *addr, size_t length, int flags);

/* Makes the stores into [addr, addr+length) of a mapping of f durable. For a DAX file
 * (zfsprops(7) dax) the mapping is the device-DAX persistent memory itself (MAP_SYNC):
 * the CPU caches holding the range are flushed (libpmem's pmem_persist), nothing else is
 * asked of zfsd, and what is persisted survives a crash of zfsd or of the machine; on a
 * device a file only emulates (zfsd --dax-emulation) the range is msync'ed. For any other
 * file it is uzfs_msync(MS_SYNC) of the range. ENOMEM when the range is not in a mapping of
 * f, ENOTCONN after zfsd went away. */
int uzfs_persist(uzfs_file *f, void *addr, size_t length);

/* For store loops: the function uzfs_persist calls for the DAX mapping of f holding addr,
 * to be called directly (fn(addr, length)) on ranges of that mapping while it exists, as
 * libpmem2's pmem2_get_persist_fn gives one. For a real device-DAX it is libpmem's
 * pmem_persist (a CPU cache flush, no system call); for an emulated device an msync of the
 * pages. NULL with EINVAL when addr is not in a DAX mapping of f (a mapping of the ARC is
 * made durable by zfsd: use uzfs_persist or uzfs_msync). */
typedef void (*uzfs_persist_fn)(const void *addr, size_t length);
uzfs_persist_fn uzfs_get_persist_fn(uzfs_file *f, void *addr);

/* Unmaps a mapping made by uzfs_mmap (addr and length as returned and given). */
int uzfs_munmap(uzfs_file *f, void *addr, size_t length);

/* Closes the file. Mappings stay valid until uzfs_munmap; the uzfs_file is freed when it is
 * closed and has no mapping left. */
int uzfs_close(uzfs_file *f);

#ifdef __cplusplus
}
#endif

#endif /* UZFS_FILE_H */
