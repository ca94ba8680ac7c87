// XDR nvlist codec. Format facts: zfs-fuse libnvpair/nvpair.c (nvs_xdr_*, i_get_value_size,
// NVP_SIZE_CALC); dump format: libnvpair.c dump_nvlist.
#include "libcore/base/nvlist.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace uzfs {
namespace {

constexpr int kMaxDepth = 32;  // nesting bound: labels nest 3-4 deep
constexpr uint64_t Align8(uint64_t x) { return (x + 7) & ~7ULL; }
constexpr uint64_t Align4(uint64_t x) { return (x + 3) & ~3ULL; }

bool IsSigned(NvType t) {
  switch (t) {
    case NvType::kInt8: case NvType::kInt16: case NvType::kInt32: case NvType::kInt64:
    case NvType::kHrtime:
      return true;
    default:
      return false;
  }
}
bool IsSignedArray(NvType t) {
  return t == NvType::kInt8Array || t == NvType::kInt16Array || t == NvType::kInt32Array ||
         t == NvType::kInt64Array;
}
bool IsUnsignedArray(NvType t) {
  return t == NvType::kByteArray || t == NvType::kUint8Array || t == NvType::kUint16Array ||
         t == NvType::kUint32Array || t == NvType::kUint64Array || t == NvType::kBooleanArray;
}
// XDR unit size of one element of a scalar or array type (4 or 8); 0 for other types.
int XdrElemSize(NvType t) {
  switch (t) {
    case NvType::kBooleanValue: case NvType::kByte: case NvType::kInt8: case NvType::kUint8:
    case NvType::kInt16: case NvType::kUint16: case NvType::kInt32: case NvType::kUint32:
    case NvType::kBooleanArray: case NvType::kInt8Array: case NvType::kUint8Array:
    case NvType::kInt16Array: case NvType::kUint16Array: case NvType::kInt32Array:
    case NvType::kUint32Array:
      return 4;
    case NvType::kInt64: case NvType::kUint64: case NvType::kHrtime: case NvType::kDouble:
    case NvType::kInt64Array: case NvType::kUint64Array:
      return 8;
    default:
      return 0;
  }
}
// Native (in-memory) size of one element, as i_get_value_size counts it.
uint64_t NativeElemSize(NvType t) {
  switch (t) {
    case NvType::kByte: case NvType::kInt8: case NvType::kUint8: case NvType::kByteArray:
    case NvType::kInt8Array: case NvType::kUint8Array:
      return 1;
    case NvType::kInt16: case NvType::kUint16: case NvType::kInt16Array:
    case NvType::kUint16Array:
      return 2;
    case NvType::kBooleanValue: case NvType::kInt32: case NvType::kUint32:
    case NvType::kBooleanArray: case NvType::kInt32Array: case NvType::kUint32Array:
      return 4;
    default:
      return 8;
  }
}

uint32_t Nelem(const NvValue& v) {
  switch (v.type) {
    case NvType::kBoolean: return 0;
    case NvType::kNvListArray: return static_cast<uint32_t>(v.lists.size());
    case NvType::kStringArray: return static_cast<uint32_t>(v.s_arr.size());
    default:
      if (IsSignedArray(v.type)) return static_cast<uint32_t>(v.i_arr.size());
      if (IsUnsignedArray(v.type)) return static_cast<uint32_t>(v.u_arr.size());
      return 1;
  }
}

// i_get_value_size for a value.
uint64_t NativeValueSize(const NvValue& v) {
  switch (v.type) {
    case NvType::kBoolean: return 0;
    case NvType::kString: return v.s.size() + 1;
    case NvType::kStringArray: {
      uint64_t n = 8 * v.s_arr.size();
      for (const auto& s : v.s_arr) n += s.size() + 1;
      return n;
    }
    case NvType::kNvList: return 24;
    case NvType::kNvListArray: return 32ULL * v.lists.size();
    default: return NativeElemSize(v.type) * Nelem(v);
  }
}

uint64_t DecodedSize(const std::string& name, const NvValue& v) {
  return Align8(16 + name.size() + 1) + Align8(NativeValueSize(v));
}

class Writer {
 public:
  void U32(uint32_t v) {
    uint8_t b[4];
    StoreBE32(b, v);
    out.insert(out.end(), b, b + 4);
  }
  void U64(uint64_t v) {
    U32(static_cast<uint32_t>(v >> 32));
    U32(static_cast<uint32_t>(v));
  }
  void Str(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
    while (out.size() % 4) out.push_back(0);
  }
  void List(const NvList& l);
  Bytes out;
};

void Writer::List(const NvList& l) {
  U32(0);  // nvl_version
  U32(1);  // nvl_nvflag = NV_UNIQUE_NAME
  for (const auto& p : l.pairs()) {
    size_t start = out.size();
    U32(0);  // encoded size, patched below
    U32(static_cast<uint32_t>(DecodedSize(p.name, p.value)));
    Str(p.name);
    const NvValue& v = p.value;
    U32(static_cast<uint32_t>(v.type));
    uint32_t nelem = Nelem(v);
    U32(nelem);
    switch (v.type) {
      case NvType::kBoolean: break;
      case NvType::kString: Str(v.s); break;
      case NvType::kStringArray:
        for (const auto& s : v.s_arr) Str(s);
        break;
      case NvType::kNvList:
      case NvType::kNvListArray:
        for (const auto& sub : v.lists) List(sub);
        break;
      case NvType::kByteArray: {  // xdr_opaque: bytes padded to 4, no count
        for (uint64_t x : v.u_arr) out.push_back(static_cast<uint8_t>(x));
        while (out.size() % 4) out.push_back(0);
        break;
      }
      case NvType::kDouble: {
        uint64_t bits;
        std::memcpy(&bits, &v.d, 8);
        U64(bits);
        break;
      }
      default: {
        int es = XdrElemSize(v.type);
        bool arr = IsSignedArray(v.type) || IsUnsignedArray(v.type);
        if (arr) U32(nelem);  // xdr_array writes its count
        for (uint32_t i = 0; i < nelem; i++) {
          uint64_t x;
          if (arr) x = IsSignedArray(v.type) ? static_cast<uint64_t>(v.i_arr[i]) : v.u_arr[i];
          else x = IsSigned(v.type) ? static_cast<uint64_t>(v.i) : v.u;
          if (es == 8) U64(x); else U32(static_cast<uint32_t>(x));
        }
      }
    }
    StoreBE32(&out[start], static_cast<uint32_t>(out.size() - start));
  }
  U32(0);
  U32(0);
}

class Reader {
 public:
  explicit Reader(ByteSpan d) : d_(d) {}
  bool U32(uint32_t* v) {
    if (d_.size() - p_ < 4) return false;
    *v = LoadBE32(d_.data() + p_);
    p_ += 4;
    return true;
  }
  bool U64(uint64_t* v) {
    uint32_t hi, lo;
    if (!U32(&hi) || !U32(&lo)) return false;
    *v = (static_cast<uint64_t>(hi) << 32) | lo;
    return true;
  }
  bool Str(std::string* s) {
    uint32_t n;
    if (!U32(&n) || n > d_.size() - p_) return false;
    s->assign(reinterpret_cast<const char*>(d_.data() + p_), n);
    if (s->find('\0') != std::string::npos) return false;
    p_ += n;
    p_ += Align4(n) - n;
    if (p_ > d_.size()) return false;
    return true;
  }
  size_t pos() const { return p_; }
  size_t remaining() const { return d_.size() - p_; }
  Status List(NvList* l, int depth);

 private:
  Status Bad(const char* what) const {
    char buf[96];
    std::snprintf(buf, sizeof buf, "nvlist: %s at byte %zu", what, p_);
    return Status::Error(ECORRUPT, buf);
  }
  ByteSpan d_;
  size_t p_ = 0;
};

Status Reader::List(NvList* l, int depth) {
  if (depth > kMaxDepth) return Bad("nested too deeply");
  uint32_t version, flag;
  if (!U32(&version) || !U32(&flag)) return Bad("truncated header");
  if (version != 0) return Bad("unknown nvl_version");
  while (true) {
    size_t start = p_;
    uint32_t esize, dsize;
    if (!U32(&esize) || !U32(&dsize)) return Bad("truncated pair");
    if (esize == 0 && dsize == 0) return Status::Ok();  // end of list
    if (esize < 8 || esize > d_.size() - start) return Bad("bad encoded size");
    std::string name;
    uint32_t type, nelem;
    if (!Str(&name) || !U32(&type) || !U32(&nelem)) return Bad("truncated pair");
    NvValue v;
    v.type = static_cast<NvType>(type);
    // Every element takes at least one encoded byte (a byte array's): bound nelem before
    // allocating anything for it.
    if (nelem > remaining()) return Bad("element count exceeds data");
    bool ok = true;
    switch (v.type) {
      case NvType::kBoolean:
        if (nelem != 0) ok = false;
        break;
      case NvType::kString:
        ok = nelem == 1 && Str(&v.s);
        break;
      case NvType::kStringArray:
        for (uint32_t i = 0; ok && i < nelem; i++) {
          std::string s;
          ok = Str(&s);
          v.s_arr.push_back(std::move(s));
        }
        break;
      case NvType::kNvList:
      case NvType::kNvListArray: {
        if (v.type == NvType::kNvList && nelem != 1) return Bad("nvlist with nelem != 1");
        for (uint32_t i = 0; i < nelem; i++) {
          NvList sub;
          UZFS_TRY(List(&sub, depth + 1));
          v.lists.push_back(std::move(sub));
        }
        break;
      }
      case NvType::kByteArray: {
        if (nelem > remaining()) return Bad("byte array exceeds data");
        for (uint32_t i = 0; i < nelem; i++) v.u_arr.push_back(d_[p_ + i]);
        p_ += Align4(nelem);
        if (p_ > d_.size()) return Bad("byte array exceeds data");
        break;
      }
      case NvType::kDouble: {
        uint64_t bits = 0;
        ok = nelem == 1 && U64(&bits);
        std::memcpy(&v.d, &bits, 8);
        break;
      }
      default: {
        int es = XdrElemSize(v.type);
        if (es == 0) return Bad("unknown data type");
        bool arr = IsSignedArray(v.type) || IsUnsignedArray(v.type);
        if (arr) {
          uint32_t count;
          if (!U32(&count) || count != nelem) return Bad("array count mismatch");
          if (static_cast<uint64_t>(nelem) * es > remaining()) return Bad("array exceeds data");
        } else if (nelem != 1) {
          return Bad("scalar with nelem != 1");
        }
        for (uint32_t i = 0; ok && i < nelem; i++) {
          uint64_t x = 0;
          if (es == 8) {
            ok = U64(&x);
          } else {
            uint32_t y = 0;
            ok = U32(&y);
            x = y;
          }
          // Narrow types travel as 32-bit XDR ints: sign-extend the signed ones.
          int64_t sx = es == 8 ? static_cast<int64_t>(x) : static_cast<int32_t>(x);
          if (arr) {
            if (IsSignedArray(v.type)) v.i_arr.push_back(sx);
            else v.u_arr.push_back(x);
          } else if (IsSigned(v.type)) {
            v.i = sx;
          } else {
            v.u = x;
          }
        }
      }
    }
    if (!ok) return Bad("truncated value");
    if (p_ - start != esize) return Bad("encoded size mismatch");
    // libnvpair sizes the native pair from decoded_size and then checks it exactly
    // (i_validate_nvpair): a writer that gets it wrong makes pools zfs-fuse rejects.
    if (dsize != DecodedSize(name, v)) return Bad("decoded size mismatch");
    if (l->Has(name)) return Bad("duplicate name");
    l->AddValue(name, std::move(v));
  }
}

void DumpTo(const NvList& l, int indent, std::string* out) {
  char buf[128];
  const std::string pad(static_cast<size_t>(indent), ' ');
  for (const auto& p : l.pairs()) {
    const NvValue& v = p.value;
    auto line = [&](const std::string& text) { *out += pad + p.name + ": " + text + "\n"; };
    auto aline = [&](size_t i, const std::string& text) {
      *out += pad + p.name + "[" + std::to_string(i) + "]: " + text + "\n";
    };
    switch (v.type) {
      case NvType::kBooleanValue: line(v.u ? "true" : "false"); break;
      case NvType::kString: line("'" + v.s + "'"); break;
      case NvType::kStringArray:
        for (size_t i = 0; i < v.s_arr.size(); i++) aline(i, "'" + v.s_arr[i] + "'");
        break;
      case NvType::kNvList:
        *out += pad + p.name + ":\n";
        DumpTo(v.lists[0], indent + 4, out);
        break;
      case NvType::kNvListArray:
        for (size_t i = 0; i < v.lists.size(); i++) {
          *out += pad + p.name + "[" + std::to_string(i) + "]:\n";
          DumpTo(v.lists[i], indent + 4, out);
        }
        break;
      case NvType::kBoolean:  // the name alone (OpenZFS's nvlist_print; features_for_read)
        *out += pad + p.name + "\n";
        break;
      case NvType::kHrtime:
      case NvType::kDouble:
      case NvType::kBooleanArray:
        std::snprintf(buf, sizeof buf, "bad config type %d for %s\n", static_cast<int>(v.type),
                      p.name.c_str());
        *out += buf;
        break;
      default:
        if (IsSignedArray(v.type)) {
          for (size_t i = 0; i < v.i_arr.size(); i++) aline(i, std::to_string(v.i_arr[i]));
        } else if (IsUnsignedArray(v.type)) {
          for (size_t i = 0; i < v.u_arr.size(); i++) aline(i, std::to_string(v.u_arr[i]));
        } else if (IsSigned(v.type)) {
          line(std::to_string(v.i));
        } else {
          line(std::to_string(v.u));
        }
    }
  }
}

}  // namespace

NvList::Pair* NvList::FindMut(std::string_view name) {
  for (auto& p : pairs_)
    if (p.name == name) return &p;
  return nullptr;
}

void NvList::AddValue(std::string_view name, NvValue v) {
  if (Pair* p = FindMut(name)) {
    p->value = std::move(v);
  } else {
    pairs_.push_back(Pair{std::string(name), std::move(v)});
  }
}

void NvList::AddBoolean(std::string_view name) {
  NvValue v;
  v.type = NvType::kBoolean;
  AddValue(name, std::move(v));
}
void NvList::AddBooleanValue(std::string_view name, bool b) {
  NvValue v;
  v.type = NvType::kBooleanValue;
  v.u = b ? 1 : 0;
  AddValue(name, std::move(v));
}
void NvList::AddUint64(std::string_view name, uint64_t x) {
  NvValue v;
  v.type = NvType::kUint64;
  v.u = x;
  AddValue(name, std::move(v));
}
void NvList::AddInt64(std::string_view name, int64_t x) {
  NvValue v;
  v.type = NvType::kInt64;
  v.i = x;
  AddValue(name, std::move(v));
}
void NvList::AddUint32(std::string_view name, uint32_t x) {
  NvValue v;
  v.type = NvType::kUint32;
  v.u = x;
  AddValue(name, std::move(v));
}
void NvList::AddString(std::string_view name, std::string_view s) {
  NvValue v;
  v.type = NvType::kString;
  v.s = std::string(s);
  AddValue(name, std::move(v));
}
void NvList::AddNvList(std::string_view name, NvList l) {
  NvValue v;
  v.type = NvType::kNvList;
  v.lists.push_back(std::move(l));
  AddValue(name, std::move(v));
}
void NvList::AddNvListArray(std::string_view name, std::vector<NvList> ls) {
  NvValue v;
  v.type = NvType::kNvListArray;
  v.lists = std::move(ls);
  AddValue(name, std::move(v));
}
void NvList::AddUint64Array(std::string_view name, std::vector<uint64_t> a) {
  NvValue v;
  v.type = NvType::kUint64Array;
  v.u_arr = std::move(a);
  AddValue(name, std::move(v));
}
void NvList::AddStringArray(std::string_view name, std::vector<std::string> a) {
  NvValue v;
  v.type = NvType::kStringArray;
  v.s_arr = std::move(a);
  AddValue(name, std::move(v));
}

bool NvList::Remove(std::string_view name) {
  for (auto it = pairs_.begin(); it != pairs_.end(); ++it) {
    if (it->name == name) {
      pairs_.erase(it);
      return true;
    }
  }
  return false;
}

bool NvList::Has(std::string_view name) const { return Find(name) != nullptr; }

const NvValue* NvList::Find(std::string_view name) const {
  for (const auto& p : pairs_)
    if (p.name == name) return &p.value;
  return nullptr;
}

std::optional<uint64_t> NvList::GetUint64(std::string_view name) const {
  const NvValue* v = Find(name);
  if (v == nullptr) return std::nullopt;
  switch (v->type) {
    case NvType::kUint64: case NvType::kUint32: case NvType::kUint16: case NvType::kUint8:
    case NvType::kByte: case NvType::kBooleanValue:
      return v->u;
    default:
      return std::nullopt;
  }
}

std::optional<int64_t> NvList::GetInt64(std::string_view name) const {
  const NvValue* v = Find(name);
  if (v == nullptr || !IsSigned(v->type)) return std::nullopt;
  return v->i;
}

const std::string* NvList::GetString(std::string_view name) const {
  const NvValue* v = Find(name);
  return v != nullptr && v->type == NvType::kString ? &v->s : nullptr;
}

const NvList* NvList::GetNvList(std::string_view name) const {
  const NvValue* v = Find(name);
  return v != nullptr && v->type == NvType::kNvList && v->lists.size() == 1 ? &v->lists[0]
                                                                            : nullptr;
}

const std::vector<NvList>* NvList::GetNvListArray(std::string_view name) const {
  const NvValue* v = Find(name);
  return v != nullptr && v->type == NvType::kNvListArray ? &v->lists : nullptr;
}

const std::vector<uint64_t>* NvList::GetUint64Array(std::string_view name) const {
  const NvValue* v = Find(name);
  return v != nullptr && v->type == NvType::kUint64Array ? &v->u_arr : nullptr;
}

Bytes NvList::EncodeXdr() const {
  Writer w;
  w.out = {1 /* NV_ENCODE_XDR */, 1 /* little-endian host */, 0, 0};
  w.List(*this);
  return std::move(w.out);
}

Result<NvList> NvList::DecodeXdr(ByteSpan data) {
  if (data.size() < 4) return Status::Error(ECORRUPT, "nvlist: shorter than its header");
  if (data[0] != 1) {
    return Status::Error(data[0] == 0 ? ENOTSUP : ECORRUPT,
                         data[0] == 0 ? "nvlist: native encoding is not supported"
                                      : "nvlist: unknown encoding");
  }
  Reader r(data.subspan(4));
  NvList l;
  UZFS_TRY(r.List(&l, 0));
  return l;
}

std::string NvList::Dump(int indent) const {
  std::string out;
  DumpTo(*this, indent, &out);
  return out;
}

bool operator==(const NvValue& a, const NvValue& b) {
  return a.type == b.type && a.u == b.u && a.i == b.i &&
         std::memcmp(&a.d, &b.d, sizeof a.d) == 0 && a.s == b.s && a.u_arr == b.u_arr &&
         a.i_arr == b.i_arr && a.s_arr == b.s_arr && a.lists == b.lists;
}

bool operator==(const NvList& a, const NvList& b) {
  if (a.pairs_.size() != b.pairs_.size()) return false;
  for (size_t i = 0; i < a.pairs_.size(); i++) {
    if (a.pairs_[i].name != b.pairs_[i].name || !(a.pairs_[i].value == b.pairs_[i].value))
      return false;
  }
  return true;
}

}  // namespace uzfs
