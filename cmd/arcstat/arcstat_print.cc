// arcstat's number formatting and rows (see arcstat.h).
#include <cmath>
#include <cstdio>

#include "cmd/arcstat/arcstat.h"

namespace uzfs::arcstat {

namespace {

double ScaleOf(Unit u) {
  switch (u) {
    case Unit::kBytes: return 1024;
    case Unit::kPercent: return 100;
    default: return 1000;
  }
}

std::string Pad(const std::string& s, int width) {
  if (static_cast<int>(s.size()) >= width) return s;
  std::string out(width - s.size(), ' ');
  out.append(s);
  return out;
}

std::string Join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); i++) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// One column's text, unpadded unless pretty.
std::string Cell(const Field& f, const Format& fmt, const Window& w, const std::string& time_text) {
  if (f.unit == Unit::kTime) return time_text;
  std::optional<double> v = f.value(w);
  if (!v) return std::string(1, '-');  // (not = "-": GCC 12's -Wrestrict misfires on it)
  if (fmt.exact) return ExactNum(*v);
  std::string s = PrettyNum(*v, f, w.secs);
  return fmt.scripted ? s.substr(s.find_first_not_of(' ')) : s;
}

}  // namespace

std::string PrettyNum(double num, const Field& f, uint64_t interval) {
  static const char kSuffix[] = "\0KMGTPE";
  int index = 0;
  double scale = ScaleOf(f.unit);
  if (f.unit != Unit::kPercent)
    while (std::fabs(num) > scale && index < 5) {
      num /= scale;
      index++;
    }
  int width = f.width - (index == 0 ? 0 : 1);
  char buf[64];
  int intlen = std::snprintf(buf, sizeof buf, "%.0f", num);
  bool whole = num == std::floor(num);
  int decimals = (interval == 1 && whole) || width < intlen + 2 ? 0 : 1;
  std::snprintf(buf, sizeof buf, "%*.*f", width, decimals, num);
  std::string s = buf;
  if (index > 0) s += kSuffix[index];
  return s;
}

std::string ExactNum(double v) {
  char buf[64];
  if (v == std::floor(v)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string HeaderLine(const std::vector<const Field*>& cols, const Format& fmt) {
  std::vector<std::string> parts;
  for (const Field* f : cols) parts.push_back(fmt.exact ? f->name : Pad(f->name, f->width));
  return Join(parts, "  ");
}

std::string ValueLine(const std::vector<const Field*>& cols, const Format& fmt, const Window& w,
                      const std::string& time_text) {
  bool padded = !fmt.exact && !fmt.scripted;
  std::vector<std::string> parts;
  for (const Field* f : cols) {
    std::string s = Cell(*f, fmt, w, time_text);
    parts.push_back(padded ? Pad(s, f->width) : s);
  }
  return Join(parts, fmt.scripted ? "\t" : "  ");
}

}  // namespace uzfs::arcstat
