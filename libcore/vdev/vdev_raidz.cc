#include "libcore/vdev/vdev_raidz.h"

#include <algorithm>
#include <array>

namespace uzfs {

namespace {

struct GfTables {
  std::array<uint8_t, 256> log{};
  std::array<uint8_t, 512> exp{};
  GfTables() {
    unsigned x = 1;
    for (int i = 0; i < 255; i++) {
      exp[i] = static_cast<uint8_t>(x);
      log[x] = static_cast<uint8_t>(i);
      x <<= 1;
      if (x & 0x100) x ^= 0x11d;
    }
    for (int i = 255; i < 512; i++) exp[i] = exp[i - 255];
  }
};

const GfTables& Gf() {
  static const GfTables t;
  return t;
}

uint8_t GfInv(uint8_t a) { return Gf().exp[255 - Gf().log[a]]; }

// Coefficient of data column i (0-based among n data columns) in parity row j (P, Q, R):
// generator g_j = 2^j, raised to n-1-i.
uint8_t Coef(int j, uint64_t i, uint64_t n) {
  uint64_t e = (static_cast<uint64_t>(j) * (n - 1 - i)) % 255;
  return Gf().exp[e];
}

}  // namespace

uint8_t GfMul(uint8_t a, uint8_t b) {
  if (a == 0 || b == 0) return 0;
  return Gf().exp[Gf().log[a] + Gf().log[b]];
}

Result<RaidzMap> RaidzMapAlloc(uint64_t offset, uint64_t size, uint64_t unit_shift,
                               uint64_t dcols, uint64_t nparity) {
  if (unit_shift < 9 || unit_shift > 17) return Status::Error(EINVAL, "raidz: bad ashift");
  if (nparity < 1 || nparity > 3 || dcols < 2 || dcols <= nparity || dcols > 255)
    return Status::Error(EINVAL, "raidz: bad geometry");
  uint64_t unit = 1ULL << unit_shift;
  if (size == 0 || size % unit != 0 || size > (16ULL << 20))
    return Status::Error(EINVAL, "raidz: bad I/O size");
  if (offset % unit != 0) return Status::Error(EINVAL, "raidz: unaligned offset");

  uint64_t b = offset >> unit_shift;
  uint64_t s = size >> unit_shift;
  uint64_t f = b % dcols;
  uint64_t o = (b / dcols) << unit_shift;
  uint64_t q = s / (dcols - nparity);
  uint64_t r = s - q * (dcols - nparity);
  uint64_t bc = (r == 0 ? 0 : r + nparity);
  uint64_t tot = s + nparity * (q + (r == 0 ? 0 : 1));

  RaidzMap m;
  if (q == 0) {
    m.cols = bc;
    uint64_t rounded = (bc + nparity) / (nparity + 1) * (nparity + 1);
    m.scols = std::min(dcols, rounded);
  } else {
    m.cols = dcols;
    m.scols = dcols;
  }
  m.bigcols = bc;
  m.skipstart = bc;
  m.firstdatacol = nparity;
  m.col.resize(m.scols);
  uint64_t asize = 0;
  for (uint64_t c = 0; c < m.scols; c++) {
    uint64_t col = f + c;
    uint64_t coff = o;
    if (col >= dcols) {
      col -= dcols;
      coff += unit;
    }
    m.col[c].devidx = col;
    m.col[c].offset = coff;
    if (c >= m.cols)
      m.col[c].size = 0;
    else if (c < bc)
      m.col[c].size = (q + 1) << unit_shift;
    else
      m.col[c].size = q << unit_shift;
    asize += m.col[c].size;
  }
  uint64_t grp = (nparity + 1) << unit_shift;
  m.asize = (asize + grp - 1) / grp * grp;
  m.nskip = (tot + nparity) / (nparity + 1) * (nparity + 1) - tot;

  if (m.firstdatacol == 1 && (offset & (1ULL << 20))) {
    std::swap(m.col[0].devidx, m.col[1].devidx);
    std::swap(m.col[0].offset, m.col[1].offset);
    if (m.skipstart == 0) m.skipstart = 1;
  }
  return m;
}

void RaidzGenerateParity(const RaidzMap& map, RaidzColumns& cols) {
  if (cols.size() < map.cols) return;  // contract violation; never index past the vector
  uint64_t np = map.firstdatacol;
  uint64_t n = map.cols - np;
  for (uint64_t j = 0; j < np; j++) {
    Bytes& p = cols[j];
    std::fill(p.begin(), p.end(), 0);
    for (uint64_t i = 0; i < n; i++) {
      const Bytes& d = cols[np + i];
      uint8_t k = Coef(static_cast<int>(j), i, n);
      size_t len = std::min(d.size(), p.size());
      for (size_t x = 0; x < len; x++) p[x] ^= GfMul(k, d[x]);
    }
  }
}

Status RaidzReconstruct(const RaidzMap& map, RaidzColumns& cols, const std::vector<int>& targets) {
  uint64_t np = map.firstdatacol;
  uint64_t n = map.cols - np;
  if (targets.size() > np) return Status::Error(EINVAL, "raidz: too many columns to rebuild");
  if (cols.size() < map.cols) return Status::Error(EINVAL, "raidz: column buffers missing");
  for (uint64_t c = 0; c < map.cols; c++)
    if (cols[c].size() != map.col[c].size) return Status::Error(EINVAL, "raidz: column size");
  std::vector<bool> bad(map.cols, false);
  for (int t : targets) {
    if (t < 0 || static_cast<uint64_t>(t) >= map.cols) return Status::Error(EINVAL, "raidz: target");
    bad[t] = true;
  }
  std::vector<uint64_t> missing_data;  // data column indexes (0-based among data)
  for (uint64_t c = np; c < map.cols; c++)
    if (bad[c]) missing_data.push_back(c - np);
  std::vector<int> rows;  // parity rows used
  for (uint64_t j = 0; j < np && rows.size() < missing_data.size(); j++)
    if (!bad[j]) rows.push_back(static_cast<int>(j));
  if (rows.size() < missing_data.size())
    return Status::Error(EINVAL, "raidz: not enough parity to rebuild");
  size_t m = missing_data.size();
  if (m > 0) {
    size_t psz = cols[0].size();
    // Syndromes: parity minus the known data's contribution.
    std::vector<Bytes> syn(m);
    for (size_t r = 0; r < m; r++) {
      syn[r] = cols[rows[r]];
      for (uint64_t i = 0; i < n; i++) {
        if (bad[np + i]) continue;
        const Bytes& d = cols[np + i];
        uint8_t k = Coef(rows[r], i, n);
        size_t len = std::min(d.size(), psz);
        for (size_t x = 0; x < len; x++) syn[r][x] ^= GfMul(k, d[x]);
      }
    }
    // Invert the m x m matrix A[r][k] = Coef(rows[r], missing_data[k]) by Gauss-Jordan.
    uint8_t a[3][3], inv[3][3];
    for (size_t r = 0; r < m; r++)
      for (size_t k = 0; k < m; k++) {
        a[r][k] = Coef(rows[r], missing_data[k], n);
        inv[r][k] = r == k;
      }
    for (size_t c = 0; c < m; c++) {
      size_t piv = c;
      while (piv < m && a[piv][c] == 0) piv++;
      if (piv == m) return Status::Error(EINVAL, "raidz: singular reconstruction matrix");
      for (size_t k = 0; k < m; k++) {
        std::swap(a[c][k], a[piv][k]);
        std::swap(inv[c][k], inv[piv][k]);
      }
      uint8_t iv = GfInv(a[c][c]);
      for (size_t k = 0; k < m; k++) {
        a[c][k] = GfMul(a[c][k], iv);
        inv[c][k] = GfMul(inv[c][k], iv);
      }
      for (size_t r = 0; r < m; r++) {
        if (r == c || a[r][c] == 0) continue;
        uint8_t fct = a[r][c];
        for (size_t k = 0; k < m; k++) {
          a[r][k] ^= GfMul(fct, a[c][k]);
          inv[r][k] ^= GfMul(fct, inv[c][k]);
        }
      }
    }
    for (size_t k = 0; k < m; k++) {
      Bytes& d = cols[np + missing_data[k]];
      std::fill(d.begin(), d.end(), 0);
      for (size_t r = 0; r < m; r++) {
        uint8_t fct = inv[k][r];
        if (fct == 0) continue;
        size_t len = std::min(d.size(), psz);
        for (size_t x = 0; x < len; x++) d[x] ^= GfMul(fct, syn[r][x]);
      }
    }
  }
  // Bad parity columns are regenerated from the (now complete) data.
  bool any_parity = false;
  for (uint64_t j = 0; j < np; j++) any_parity |= bad[j];
  if (any_parity) {
    RaidzColumns tmp(cols.begin(), cols.begin() + static_cast<long>(map.cols));
    RaidzGenerateParity(map, tmp);
    for (uint64_t j = 0; j < np; j++)
      if (bad[j]) cols[j] = tmp[j];
  }
  return Status::Ok();
}

}  // namespace uzfs
