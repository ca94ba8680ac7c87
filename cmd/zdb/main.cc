// zdb — the option table and dispatch. Each kind of dump lives in its own file.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cmd/zdb/zdb.h"

namespace uzfs::zdb {
namespace {

constexpr const char* kUsage =
    "Usage: zdb [-bcdhimuCv] [-U CACHEFILE] [-e [-p DIR]...] POOL [OBJECT...]\n"
    "       zdb [-div] [-U CACHEFILE] [-e [-p DIR]...] DATASET [OBJECT...]\n"
    "       zdb -m [-v] [-U CACHEFILE] [-e [-p DIR]...] POOL\n"
    "       zdb -l [-u] DEVICE\n"
    "       zdb -R [-U CACHEFILE] [-e [-p DIR]...] POOL vdev:offset:size[:flags]\n"
    "       zdb -r [-U CACHEFILE] [-e [-p DIR]...] DATASET PATH DEST\n";

constexpr const char* kHelp =
    "\n"
    "    Dataset name must include at least one separator character '/' or '@'\n"
    "    If dataset name is specified, only that dataset is dumped\n"
    "    If object numbers are specified, only those objects are dumped\n"
    "\n"
    "    Options to control amount of output:\n"
    "        -b block statistics\n"
    "        -c checksum all metadata (twice for all data) blocks\n"
    "        -C config (MOS configuration)\n"
    "        -d dataset(s)\n"
    "        -h pool history\n"
    "        -i intent logs (more i or v: their records, blocks, data)\n"
    "        -l dump label contents (with -u, their uberblocks)\n"
    "        -m metaslabs\n"
    "        -u uberblock\n"
    "        -v verbose (applies to all others)\n"
    "        -R read and display block from a device\n"
    "        -r copy a file out of a dataset\n"
    "\n"
    "    Below options are intended for use with other options (except -l):\n"
    "        -e pool is exported/destroyed/not imported\n"
    "        -p <path> -- use one or more with -e to specify path to vdev dir\n"
    "        -U <cachefile> -- the cache file of imported pools (without -e;\n"
    "           default /var/lib/uzfs/zpool.cache, zfsd's)\n"
    "        --help print this message\n"
    "Specify an option more than once (e.g. -bb) to make only that option verbose\n"
    "Default is to dump everything non-verbosely\n";

int UsageError(const std::string& why) {
  if (!why.empty()) std::cerr << "zdb: " << why << "\n";
  std::cerr << kUsage;
  return kExitUsage;
}

}  // namespace

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"zdb"};
  app.set_help_flag();  // our own --help, printed in zdb's format
  bool help = false;
  app.add_flag("--help", help);
  app.add_flag("-b", o.b);
  app.add_flag("-c", o.c);
  app.add_flag("-d", o.d);
  app.add_flag("-h", o.h);
  app.add_flag("-i", o.i);
  app.add_flag("-l", o.l);
  app.add_flag("-m", o.m);
  app.add_flag("-u", o.u);
  app.add_flag("-C", o.C);
  app.add_flag("-R", o.R);
  app.add_flag("-r", o.copy);
  app.add_flag("-v", o.v);
  app.add_flag("-e", o.e);
  app.add_option("-p", o.search_dirs)->allow_extra_args(false);
  app.add_option("-U", o.cachefile);
  app.add_option("args", o.args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return UsageError(e.what());
  }
  if (help) {
    std::cout << kUsage << kHelp;
    return kExitOk;
  }
  if (!o.e && !o.search_dirs.empty()) return UsageError("-p option requires use of -e");

  if (o.l) {
    if (o.args.size() != 1) return UsageError("-l takes exactly one device");
    return DumpLabel(o, o.args[0]);
  }
  if (o.args.empty()) return UsageError("missing pool name");
  if (o.R) {
    if (o.args.size() < 2) return UsageError("-R needs a pool and vdev:offset:size[:flags]");
    return ReadBlockCmd(o);
  }
  if (o.copy) {
    if (o.args.size() != 3) return UsageError("-r needs DATASET PATH DEST");
    return CopyFileCmd(o);
  }
  // No dump option: dump everything, non-verbosely, as zdb does.
  if (!(o.b || o.c || o.d || o.h || o.i || o.m || o.u || o.C)) {
    int level = std::max(o.v, 1) + 1;
    o.b = o.c = o.d = o.h = o.i = o.m = o.u = o.C = level;
  } else if (o.v) {
    for (int* f : {&o.b, &o.c, &o.d, &o.h, &o.i, &o.m, &o.u, &o.C})
      if (*f) *f += o.v;
  }
  return DumpPool(o);
}

}  // namespace uzfs::zdb

int main(int argc, char** argv) { return uzfs::zdb::Main(argc, argv); }
