// zfs: administration of uzfs datasets, shaped like OpenZFS's zfs(8). One file per
// subcommand (zfs_<name>.cc) defines its Cmd entry; main.cc dispatches. Conventions as in
// cmd/common/cmd.h: "cannot <verb> '<name>': <reason>", exit 1 on errors, 2 on bad usage.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cmd/common/cmd.h"
#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"

namespace uzfs::zfs {

using namespace uzfs::cmd;

const std::vector<Cmd>& Commands();
extern const Cmd kCreate, kDestroy, kSnapshot, kRollback, kClone, kPromote, kRename, kList,
    kSet, kGet, kInherit, kUpgrade, kMount, kUnmount, kVersion, kHold, kHolds, kRelease, kSend,
    kReceive, kUserspace, kGroupspace, kAllow, kUnallow;

struct PropVal {
  std::string value, source;
  std::string received = "-";  // the value received on the dataset itself (zfs get -o received)
};
struct Dataset {
  std::string name, type;  // type: "filesystem", "volume" or "snapshot"
  std::map<std::string, PropVal> props;
  // value of a property ("-" when it does not apply); user properties too.
  std::string Get(const std::string& prop) const;
};

// zfs_list (lzc::ZfsList) parsed: the named datasets (every pool's when names is empty), with
// their descendants when recursive, at most depth levels below (-1: any).
Result<std::vector<Dataset>> FetchDatasets(const std::vector<std::string>& names, bool recursive,
                                           int64_t depth);
// OpenZFS's sort: by name component-wise, a filesystem's snapshots right after it, by
// creation txg.
void SortByName(std::vector<Dataset>* ds);
// A value as zfs prints it: sizes with zfs_nicenum ("none" for an unset quota), dates,
// ratios with "x"; exact values (-p) unchanged.
std::string Format(const std::string& prop, const std::string& value, bool parsable);
// The source column: "-", "default", "local", "inherited from X".
bool IsNumericProp(const std::string& prop);
// The property a name or column abbreviation names ("avail", "refer", "ratio", "recsize":
// OpenZFS takes a property's column header in lower case too); the name itself otherwise.
std::string Canonical(const std::string& name);
// A known native property name or a user property (module:name).
bool ValidPropName(const std::string& prop);
// The column header for -o.
std::string Header(const std::string& prop);
// Every native property name, in `zfs get all` order.
const std::vector<std::string>& NativeProps();
// -t type[,type]...: sets *fs, *snap and *vol for filesystem, snapshot (snap), volume, all
// (bookmark is accepted and matches nothing). Prints the usage error and returns false on an
// unknown type (*rc set).
bool ParseTypes(const Cmd& self, const std::vector<std::string>& opts, bool* fs, bool* snap, bool* vol,
                int* rc);
// d's type is one of those wanted.
bool WantType(const Dataset& d, bool fs, bool snap, bool vol);
// A table as zfs prints it: -H rows tab-separated, else columns padded by two spaces, a
// column right-aligned when right(i) (the last column left-aligned is not padded).
void PrintTable(const std::vector<std::vector<std::string>>& rows, bool scripted,
                const std::function<bool(size_t)>& right);
// FetchDatasets' failure in zfs's words: "cannot open 'NAME': dataset does not exist", or
// the connect error. Prints it and returns 1.
int FetchFailed(const std::vector<std::string>& names, const Status& s);
// zfs_path_to_zhandle for zfs list, get and upgrade: each name that starts with '/' or "./" is a
// path, replaced by the filesystem mounted where it lives (the mount of the same device).
// Prints "cannot open 'PATH': <errno text>" or "'PATH': not a ZFS filesystem" and returns
// false when one cannot be resolved.
bool PathsToNames(std::vector<std::string>* names);
// {user,group}{used,quota}@who (zfs_userspace.cc; userquota_propname_decode): *type is the
// index in zfs_userquota_prop_t order (userused, userquota, groupused, groupquota), *id the
// uid or gid (names through the passwd and group databases). 0, or EINVAL / ENOENT for a
// name that is no such property or names nobody ("user@domain" and SIDs included).
int DecodeUserProp(const std::string& prop, int* type, uint64_t* id);
bool IsUserSpaceProp(const std::string& prop);
// Splits "a=b"; false when there is no '='.
bool SplitProp(const std::string& s, std::string* k, std::string* v);
// Collects -o property=value options into an nvlist of strings; on a bad one prints the
// usage error and returns false (rc set).
bool PropsFromOptions(const Cmd& self, const std::vector<std::string>& opts, NvList* out, int* rc);

}  // namespace uzfs::zfs
