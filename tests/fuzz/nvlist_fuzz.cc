// libFuzzer target for the XDR nvlist decoder (labels, the MOS config, pool history and,
// later, every daemon message go through it). Any input must decode or fail cleanly; what
// decodes must survive an encode/decode round trip unchanged and re-encode to the same bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "libcore/base/nvlist.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto first = uzfs::NvList::DecodeXdr(uzfs::ByteSpan(data, size));
  if (!first.ok()) return 0;
  uzfs::Bytes enc = first->EncodeXdr();
  auto second = uzfs::NvList::DecodeXdr(enc);
  if (!second.ok()) {
    std::fprintf(stderr, "re-encoded list does not decode: %s\n", second.status().ToString().c_str());
    std::abort();
  }
  if (!(*first == *second)) {
    std::fprintf(stderr, "round trip changed the list\n");
    std::abort();
  }
  if (second->EncodeXdr() != enc) {
    std::fprintf(stderr, "encoding is not deterministic\n");
    std::abort();
  }
  (void)first->Dump(4);  // the printer must cope with whatever decodes
  return 0;
}
