// zfs create (zfs_do_create): a filesystem, or with -V a volume, with -o properties and -p
// for missing parents.
#include <cstdlib>

#include "cmd/zfs/zfs.h"
#include "libcore/base/zfs_prop.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int RunCreate(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args, opts;
  bool parents = false, sparse = false;
  app.add_flag("-p", parents);
  app.add_flag("-s", sparse);
  app.add_option("-o", opts)->allow_extra_args(false);
  std::string vsize, bsize;
  app.add_option("-V", vsize);
  app.add_option("-b", bsize);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  const bool volume = app.count("-V") > 0;
  NvList props;
  uint64_t volsize = 0, volblocksize = kVolBlockSizeDefault;
  // zfs_do_create's order: -V and -b parsed as they come (zfs_nicestrtonum), then the
  // -s/-b check, then the arguments.
  if (volume) {
    if (Status s = ParseSize(vsize, &volsize); !s.ok())
      return Fail("bad volume size '" + vsize + "': " + s.message());
  }
  if (app.count("-b")) {
    if (Status s = ParseSize(bsize, &volblocksize); !s.ok())
      return Fail("bad volume block size '" + bsize + "': " + s.message());
  }
  if ((app.count("-b") || sparse) && !volume)
    return UsageError(self, "'-s' and '-b' can only be used when creating a volume");
  if (args.empty()) return UsageError(self, volume ? "missing volume argument" : "missing filesystem argument");
  if (args.size() > 1) return UsageError(self, "too many arguments");
  int rc = 0;
  if (!PropsFromOptions(self, opts, &props, &rc)) return rc;
  if (volume) {
    props.AddString("volsize", std::to_string(volsize));
    if (app.count("-b")) props.AddString("volblocksize", std::to_string(volblocksize));
    // Without -s the volume reserves its size and its indirect blocks
    // (zvol_volsize_to_reservation), unless -o sets the reservation itself.
    if (!sparse && !props.Find("refreservation")) {
      int copies = 1;
      if (const NvValue* c = props.Find("copies"); c && c->type == NvType::kString)
        copies = std::atoi(c->s.c_str());
      props.AddString("refreservation",
                      std::to_string(ZvolSizeToReservation(volsize, volblocksize, copies < 1 ? 1 : copies)));
    }
  }
  Status s = lzc::ZfsCreate(args[0], props, parents, CommandLine(argc, argv));
  // zfs_do_create: with -p, a dataset that exists already is success (nothing is changed,
  // its properties included), so scripts may create a path without testing for it first.
  if (parents && s.code() == EEXIST && s.message() == "dataset already exists") return kExitOk;
  if (!s.ok()) return Fail(libzfs::ErrorText("create", args[0], s));
  return kExitOk;
}

const Cmd kCreate = {"create",
                     {"create [-p] [-o property=value]... filesystem",
                      "create [-ps] [-b blocksize] [-o property=value]... -V size volume"},
                     "    -p                 create missing parent datasets\n"
                     "    -o property=value  set a property of the new dataset\n"
                     "    -V size            create a volume of this size\n"
                     "    -b blocksize       the volume's block size (volblocksize; default 8K)\n"
                     "    -s                 a sparse volume: no refreservation\n"
                     "    --help             print this message\n",
                     RunCreate};

}  // namespace uzfs::zfs
