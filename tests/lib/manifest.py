#!/usr/bin/env python3
"""manifest.py DIR: one line per entry under DIR (sorted by path), what two mounts of the
same filesystem must agree on: path, type, size, permission bits, owner, mtime (whole seconds: zfs-fuse
reports no nanoseconds), link count for files, the sha256 of a file's bytes or a symlink's target, and
the user xattrs with their values. The .zfs directory is skipped."""
import hashlib
import os
import stat
import sys


def entry(root, path):
    st = os.lstat(path)
    rel = os.path.relpath(path, root)
    kind = stat.S_IFMT(st.st_mode)
    what = {stat.S_IFREG: "f", stat.S_IFDIR: "d", stat.S_IFLNK: "l"}.get(kind, "o")
    size = st.st_size if what != "d" else "-"
    nlink = st.st_nlink if what == "f" else "-"
    if what == "f":
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        digest = h.hexdigest()
    elif what == "l":
        digest = "->" + os.readlink(path)
    else:
        digest = "-"
    xattrs = []
    if what in "fd":
        try:
            for name in sorted(os.listxattr(path, follow_symlinks=False)):
                if name.startswith("user."):
                    xattrs.append(name + "=" + os.getxattr(path, name, follow_symlinks=False).hex())
        except OSError:
            xattrs.append("xattr-error")
    return " ".join(str(x) for x in [rel, what, size, oct(stat.S_IMODE(st.st_mode)), st.st_uid,
                                      st.st_gid, int(st.st_mtime) if what != "d" else "-", nlink,
                                      digest] + xattrs)


def main():
    root = sys.argv[1]
    lines = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not (dirpath == root and d == ".zfs")]
        for n in dirnames + filenames:
            lines.append(entry(root, os.path.join(dirpath, n)))
    for line in sorted(lines):
        print(line)


main()
