// zdb -R POOL vdev:offset:size[:flags] — read and display a block straight from a vdev
// (zfs-fuse zdb.c zdb_read_block). vdev is a top-level id, a child path "0.1", or a leaf's
// path or file name; offset and size are hex bytes, multiples of 512. Flags:
//   b<off>  decode the blkptr at hex offset off within the block
//   c       display the block's checksums (fletcher2, fletcher4, sha256)
//   d       decompress (try each algorithm and logical size) before dumping
//   e       byteswap the data before dumping
//   g       display as a gang block header
//   i       display as an indirect block (an array of blkptrs)
//   r       write the raw bytes to stdout
// A top-level vdev is read as a block read would (raidz columns mapped); a leaf is read at
// the offset past its 4 MiB front labels.
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <unistd.h>

#include "cmd/zdb/zdb.h"
#include "libcore/base/compress.h"
#include "libcore/spa/spa.h"

namespace uzfs::zdb {

Result<std::unique_ptr<Spa>> OpenPool(const Options& o, const std::string& pool);  // zdb_pool.cc

namespace {

struct BlockSpec {
  std::string vdev;
  uint64_t offset = 0, size = 0, blkptr_offset = 0;
  bool checksum = false, decompress = false, bswap = false, gang = false, indirect = false,
       raw = false, print_blkptr = false;
};

Result<BlockSpec> ParseSpec(const std::string& thing) {
  BlockSpec s;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t colon = thing.find(':', start);
    parts.push_back(thing.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 3 || parts.size() > 4)
    return Status::Error(EINVAL, "expected vdev:offset:size[:flags]");
  auto hex = [](const std::string& t, uint64_t* v) {
    if (t.empty()) return false;
    char* end = nullptr;
    errno = 0;
    *v = std::strtoull(t.c_str(), &end, 16);
    return errno == 0 && *end == '\0';
  };
  s.vdev = parts[0];
  if (!hex(parts[1], &s.offset)) return Status::Error(EINVAL, "bad offset '" + parts[1] + "'");
  if (!hex(parts[2], &s.size)) return Status::Error(EINVAL, "bad size '" + parts[2] + "'");
  if (s.size == 0) return Status::Error(EINVAL, "size must not be zero");
  if (s.size % 512) return Status::Error(EINVAL, "size must be a multiple of sector size");
  if (s.offset % 512) return Status::Error(EINVAL, "offset must be a multiple of sector size");
  if (s.size > kSpaMaxBlockSize) return Status::Error(EINVAL, "size must be at most 0x20000");
  const std::string flags = parts.size() == 4 ? parts[3] : "";
  for (size_t i = 0; i < flags.size(); i++) {
    switch (flags[i]) {
      case 'b': {
        s.print_blkptr = true;
        size_t j = i + 1;
        while (j < flags.size() && std::isxdigit(static_cast<unsigned char>(flags[j]))) j++;
        if (j == i + 1) return Status::Error(EINVAL, "flag b needs a hex offset");
        s.blkptr_offset = std::strtoull(flags.substr(i + 1, j - i - 1).c_str(), nullptr, 16);
        i = j - 1;
        break;
      }
      case 'c': s.checksum = true; break;
      case 'd': s.decompress = true; break;
      case 'e': s.bswap = true; break;
      case 'g': s.gang = true; break;
      case 'i': s.indirect = true; break;
      case 'p': break;  // offsets are always physical vdev offsets here
      case 'r': s.raw = true; break;
      default: return Status::Error(EINVAL, std::string("invalid flag: ") + flags[i]);
    }
  }
  return s;
}

// zdb_vdev_lookup: "0.1.2" walks children by index; otherwise a leaf whose path or basename
// is the string.
Vdev* LookupVdev(Vdev* v, const std::string& spec) {
  if (!spec.empty() && std::isdigit(static_cast<unsigned char>(spec[0]))) {
    size_t dot = spec.find('.');
    std::string head = spec.substr(0, dot);
    bool numeric = head.find_first_not_of("0123456789") == std::string::npos;
    if (numeric) {
      uint64_t i = std::strtoull(head.c_str(), nullptr, 10);
      if (i >= v->children.size()) return nullptr;
      Vdev* c = v->children[i].get();
      return dot == std::string::npos ? c : LookupVdev(c, spec.substr(dot + 1));
    }
  }
  for (auto& c : v->children) {
    if (c->is_leaf()) {
      std::string base = c->path.substr(c->path.rfind('/') + 1);
      if (c->path == spec || base == spec) return c.get();
    } else if (Vdev* f = LookupVdev(c.get(), spec)) {
      return f;
    }
  }
  return nullptr;
}

void ByteswapWords(Bytes& b) {
  for (size_t i = 0; i + 8 <= b.size(); i += 8) StoreRaw(&b[i], Bswap64(LoadRaw<uint64_t>(&b[i])));
}

void HexDump(const std::string& label, const Bytes& buf, bool bswap) {
  std::printf("\n%s\n%6s   %s  0123456789abcdef\n", label.c_str(), "",
              bswap ? " 7 6 5 4 3 2 1 0   f e d c b a 9 8" : " 0 1 2 3 4 5 6 7   8 9 a b c d e f");
  for (size_t i = 0; i + 16 <= buf.size(); i += 16) {
    uint64_t w0 = LoadLE64(&buf[i]), w1 = LoadLE64(&buf[i + 8]);
    if (bswap) {
      w0 = Bswap64(w0);
      w1 = Bswap64(w1);
    }
    std::printf("%06zx:  %016" PRIx64 "  %016" PRIx64 "  ", i, w0, w1);
    for (size_t j = 0; j < 16; j++) std::putchar(std::isprint(buf[i + j]) ? buf[i + j] : '.');
    std::putchar('\n');
  }
}

void PrintBlkptrs(const uint8_t* p, size_t n, bool bswap) {
  for (size_t i = 0; i < n; i++) {
    // Blocks are decoded in host (little) order; e flips them.
    BlkPtr bp = BlkPtr::Decode(p + i * kBlkPtrSize, !bswap);
    std::printf("%s\n", bp.ToString().c_str());
  }
}

// Finds an algorithm and logical size that decompress the block deterministically: the
// same output when the bytes past psize are two different random fills (zdb's trick for
// telling a real decompression from one that read garbage).
bool TryDecompress(const Bytes& pbuf, Bytes* out) {
  std::mt19937_64 rng(0x5eed);
  Bytes a(kSpaMaxBlockSize), b(kSpaMaxBlockSize);
  std::copy(pbuf.begin(), pbuf.end(), a.begin());
  std::copy(pbuf.begin(), pbuf.end(), b.begin());
  for (size_t i = pbuf.size(); i < a.size(); i++) {
    a[i] = static_cast<uint8_t>(rng());
    b[i] = static_cast<uint8_t>(rng());
  }
  for (uint64_t lsize = kSpaMaxBlockSize; lsize > pbuf.size(); lsize -= kSpaMinBlockSize) {
    for (uint8_t c : {uint8_t(CompressId::kLzjb), uint8_t(5), uint8_t(6), uint8_t(7),
                      uint8_t(8), uint8_t(9), uint8_t(10), uint8_t(11), uint8_t(12),
                      uint8_t(13), uint8_t(CompressId::kZle)}) {
      Bytes la(lsize), lb(lsize);
      if (Decompress(c, ByteSpan(a.data(), pbuf.size()), la).ok() &&
          Decompress(c, ByteSpan(b.data(), pbuf.size()), lb).ok() && la == lb) {
        *out = std::move(la);
        return true;
      }
    }
  }
  return false;
}

int ReadOne(Spa& spa, const std::string& thing) {
  auto spec = ParseSpec(thing);
  if (!spec.ok()) {
    std::printf("Invalid block specifier: %s  - %s\n", thing.c_str(),
                spec.status().message().c_str());
    return kExitUsage;
  }
  Vdev* vd = LookupVdev(const_cast<Vdev*>(&spa.root()), spec->vdev);
  if (vd == nullptr) {
    std::printf("***Invalid vdev: %s\n", spec->vdev.c_str());
    return kExitErrors;
  }
  if (!vd->path.empty())
    std::fprintf(stderr, "Found vdev: %s\n", vd->path.c_str());
  else
    std::fprintf(stderr, "Found vdev type: %s\n", vd->type.c_str());

  Bytes buf(spec->size);
  std::vector<VdevIoError> errs;
  Status st;
  bool top = false;
  for (auto& c : spa.root().children) top |= (c.get() == vd);
  if (top) {
    auto r = spa.ReadRaw(vd->id, spec->offset, spec->size);
    if (r.ok()) buf = std::move(*r);
    st = r.status();
  } else {
    st = vd->Read(spec->offset, buf, nullptr, &errs);
  }
  if (!st.ok()) {
    std::printf("Read of %s failed, error: %d (%s)\n", thing.c_str(), st.code(),
                st.ToString().c_str());
    return kExitErrors;
  }
  if (spec->decompress) {
    Bytes l;
    if (!TryDecompress(buf, &l)) {
      std::printf("Decompress of %s failed\n", thing.c_str());
      return kExitErrors;
    }
    buf = std::move(l);
  }
  if (spec->checksum) {
    for (uint8_t id : {uint8_t(ChecksumId::kFletcher2), uint8_t(ChecksumId::kFletcher4),
                       uint8_t(ChecksumId::kSha256)}) {
      ZioCksum ck;
      ComputeChecksum(id, buf, false, &ck);
      std::printf("%12s: %s\n", ChecksumName(id), ck.ToHex().c_str());
    }
  }
  if (spec->print_blkptr) {
    if (spec->blkptr_offset + kBlkPtrSize > buf.size()) {
      std::printf("***blkptr offset 0x%" PRIx64 " is past the block\n", spec->blkptr_offset);
      return kExitErrors;
    }
    PrintBlkptrs(buf.data() + spec->blkptr_offset, 1, spec->bswap);
  } else if (spec->raw) {
    if (spec->bswap) ByteswapWords(buf);
    fflush(stdout);
    size_t off = 0;
    while (off < buf.size()) {
      ssize_t n = write(1, buf.data() + off, buf.size() - off);
      if (n <= 0) return kExitErrors;
      off += static_cast<size_t>(n);
    }
  } else if (spec->indirect) {
    PrintBlkptrs(buf.data(), buf.size() / kBlkPtrSize, spec->bswap);
  } else if (spec->gang) {
    PrintBlkptrs(buf.data(), std::min<size_t>(3, buf.size() / kBlkPtrSize), spec->bswap);
  } else if (!spec->checksum) {
    HexDump(thing, buf, spec->bswap);
  }
  return kExitOk;
}

}  // namespace

int ReadBlockCmd(const Options& o) {
  const std::string& pool = o.args[0];
  auto spa = OpenPool(o, pool);
  if (!spa.ok()) {
    Fatal("can't open '" + pool + "': " + spa.status().ToString());
    return kExitErrors;
  }
  int rc = kExitOk;
  for (size_t i = 1; i < o.args.size(); i++) rc = std::max(rc, ReadOne(**spa, o.args[i]));
  return rc;
}

}  // namespace uzfs::zdb
