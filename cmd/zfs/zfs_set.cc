// zfs set (zfs_do_set): property=value... on one or more datasets.
#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int RunSet(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing arguments");
  NvList props;
  size_t i = 0;
  for (; i < args.size() && args[i].find('=') != std::string::npos; i++) {
    std::string k, v;
    SplitProp(args[i], &k, &v);
    if (k.empty()) return UsageError(self, "missing property in property=value argument");
    k = Canonical(k);  // zfs_valid_proplist: "rdonly" is readonly
    if (IsUserSpaceProp(k)) {
      // zfs_valid_proplist's userquota branch: the name resolved to an id here.
      int type;
      uint64_t id = 0;
      std::string target = i + 1 < args.size() ? args.back() : "";
      if (DecodeUserProp(k, &type, &id) != 0)
        return Fail("cannot set property for '" + target + "': '" + k + "' has an invalid user/group name");
      if (type == 0 || type == 2)
        return Fail("cannot set property for '" + target + "': '" + k + "' is readonly");
      k = k.substr(0, k.find('@') + 1) + std::to_string(id);
    }
    if (props.Has(k)) return UsageError(self, "property '" + k + "' specified multiple times");
    props.AddString(k, v);
  }
  if (props.pairs().empty()) return UsageError(self, "missing property=value argument(s)");
  if (i == args.size()) return UsageError(self, "missing dataset name(s)");
  int rc = kExitOk;
  for (; i < args.size(); i++) {
    Status s = lzc::ZfsSet(args[i], props, CommandLine(argc, argv));
    if (!s.ok()) {
      if (s.code() == ENOENT && s.message() == "dataset does not exist")
        Fail("cannot open '" + args[i] + "': dataset does not exist");
      else
        Fail(libzfs::ErrorText("set property for", args[i], s));
      rc = kExitError;
    }
  }
  return rc;
}

const Cmd kSet = {"set",
                  {"set property=value... filesystem|snapshot..."},
                  "    --help  print this message\n",
                  RunSet};

}  // namespace uzfs::zfs
