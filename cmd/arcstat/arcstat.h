// arcstat(1) for uzfs: what zfsd's arc_stats operation reports, one row per interval, in the
// manner of OpenZFS's arcstat (cmd/arcstat.in): the same column style (fixed widths, K/M/G
// scaling, counters as per-second rates over the interval, the first row over everything
// since zfsd started), the same option letters where they mean the same thing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace uzfs::arcstat {

// One arc_stats reply: field name → value (ArcStats names, plus the file service's).
using Sample = std::map<std::string, uint64_t>;

// What a field's value is computed from: this sample, the previous one (null for the first
// row, whose rates are then over everything since zfsd started) and the interval in seconds.
struct Window {
  const Sample* cur = nullptr;
  const Sample* prev = nullptr;
  uint64_t secs = 1;
};

enum class Unit {
  kTime,     // the wall clock, HH:MM:SS
  kCount,    // a number of events per second, scaled by 1000 (K, M...)
  kNumber,   // a number of things now, scaled by 1000
  kBytes,    // bytes (or bytes per second), scaled by 1024
  kPercent,  // 0..100, not scaled
};

struct Field {
  const char* name;
  int width;  // of the pretty-printed column, at least the name's length
  Unit unit;
  const char* description;  // as `arcstat -v` and arcstat(1) list it
  // The value, or nullopt when zfsd did not report an input (a statistic of a service that
  // is not running): printed as "-". Not used for kTime.
  std::optional<double> (*value)(const Window& w);
};

// Every field, in the order of -a and -v.
const std::vector<Field>& Fields();
// The fields printed without -f or -a.
const std::vector<std::string>& DefaultFields();
const Field* FindField(const std::string& name);

// OpenZFS arcstat's prettynum: the value scaled by its unit (1000 or 1024 per step, at most
// to P/E) and right-aligned in width; one decimal unless the number is whole and the
// interval is 1 second, or the decimal does not fit.
std::string PrettyNum(double v, const Field& f, uint64_t interval);
// The -p form: the exact value (whole numbers without a decimal point, else two decimals at
// most).
std::string ExactNum(double v);

struct Format {
  bool scripted = false;  // -H: no header, tab-separated, no padding
  bool exact = false;     // -p: no scaling, no padding
};
std::string HeaderLine(const std::vector<const Field*>& cols, const Format& fmt);
// time_text: the time column's text (HH:MM:SS).
std::string ValueLine(const std::vector<const Field*>& cols, const Format& fmt, const Window& w,
                      const std::string& time_text);

}  // namespace uzfs::arcstat
