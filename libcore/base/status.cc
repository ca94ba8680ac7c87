#include "libcore/base/status.h"

#include <cstring>

namespace uzfs {

std::string ErrorText(int code) {
  switch (code) {
    case 0: return "success";
    case ECKSUM: return "checksum mismatch";
    case ECORRUPT: return "corrupted data";
    default: return std::strerror(code);
  }
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  if (msg_.empty()) return ErrorText(code_);
  return msg_ + ": " + ErrorText(code_);
}

Status Status::Context(std::string_view what) const {
  if (ok()) return *this;
  std::string m(what);
  if (!msg_.empty()) m += ": " + msg_;
  return Status(code_, std::move(m));
}

}  // namespace uzfs
