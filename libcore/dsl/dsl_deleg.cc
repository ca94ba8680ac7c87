#include "libcore/dsl/dsl_deleg.h"

#include <algorithm>
#include <cctype>

#include "libcore/base/zfs_prop.h"
#include "libcore/dmu/dmu.h"

namespace uzfs {

namespace {

constexpr uint64_t kLogPermUpdate = 23, kLogPermRemove = 24, kLogPermWhoRemove = 25;

// permset_namecheck (zfs_namecheck.c): '@' then 1..ZFS_PERMSET_MAXLEN (64) valid characters.
bool ValidSetName(const std::string& s) {
  if (s.size() < 2 || s[0] != '@' || s.size() > 65) return false;
  return std::all_of(s.begin() + 1, s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':';
  });
}

// zfs_validate_who.
bool ValidWho(const std::string& w) {
  if (w.size() < 3 || w[2] != '$') return false;
  std::string rest = w.substr(3);
  switch (w[0]) {
    case 'u': case 'g': case 'U': case 'G':
      if (w[1] != 'l' && w[1] != 'd') return false;
      return std::all_of(rest.begin(), rest.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    case 's': case 'S':
      return w[1] == '-' && ValidSetName(rest);
    case 'c': case 'C':
      return w[1] == '-' && rest.empty();
    case 'e': case 'E':
      return (w[1] == 'l' || w[1] == 'd') && rest.empty();
    default:
      return false;
  }
}

Result<DslDirPhys> DirWithZap(ObjsetWriter& mos, ZapStore& zaps, uint64_t dir_obj) {
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, dir_obj));
  if (!dd.deleg_zapobj) {
    UZFS_ASSIGN(dd.deleg_zapobj, zaps.Create(kOtDslPerms));
    UZFS_TRY(StoreDir(mos, dir_obj, dd));
  }
  return dd;
}

// zap_lookup of whokey in a dir's ZAP: its permissions' ZAP, 0 when absent.
Result<uint64_t> WhoObj(ZapStore& zaps, uint64_t zapobj, const std::string& whokey) {
  UZFS_ASSIGN(auto e, zaps.Lookup(zapobj, whokey));
  return e ? e->first() : uint64_t{0};
}

// Adds perm to the ZAP of whokey (made when absent): zap_update(..., 8, 1, &zero).
Status Grant(ZapStore& zaps, uint64_t zapobj, const std::string& whokey, const std::string& perm) {
  UZFS_ASSIGN(uint64_t jump, WhoObj(zaps, zapobj, whokey));
  if (!jump) {
    UZFS_ASSIGN(jump, zaps.Create(kOtDslPerms));
    UZFS_TRY(zaps.AddInt(zapobj, whokey, jump));
  }
  return zaps.UpdateInt(jump, perm, 0);
}

Status DropWho(ObjsetWriter& mos, ZapStore& zaps, uint64_t zapobj, const std::string& whokey, uint64_t jump) {
  UZFS_TRY(zaps.Remove(zapobj, whokey));
  zaps.Drop(jump);
  return mos.FreeObject(jump);
}

std::string Whokey(char type, char inherit, const std::string& who) {
  return std::string{type, inherit, '$'} + who;
}

// dsl_check_access: OK when whokey's ZAP lists perm; EPERM when it does not; ENOENT when
// there is no such who.
Status CheckAccess(ZapStore& zaps, uint64_t zapobj, const std::string& whokey, const std::string& perm) {
  UZFS_ASSIGN(uint64_t jump, WhoObj(zaps, zapobj, whokey));
  if (!jump) return Status::Error(ENOENT, "no such who");
  UZFS_ASSIGN(auto e, zaps.Lookup(jump, perm));
  return e ? Status::Ok() : Status::Error(EPERM, "permission denied");
}

// dsl_load_sets: the set names whokey lists, added to *sets (false = not yet expanded).
Status LoadSets(ZapStore& zaps, uint64_t zapobj, const std::string& whokey, std::map<std::string, bool>* sets,
                bool* found) {
  UZFS_ASSIGN(uint64_t jump, WhoObj(zaps, zapobj, whokey));
  *found = jump != 0;
  if (!jump) return Status::Ok();
  UZFS_ASSIGN(auto es, zaps.List(jump));
  for (const ZapEntry& e : es) sets->emplace(e.name, false);
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& DelegPermNames() {
  static const std::vector<std::string> names = {
      "allow",   "clone", "create",   "destroy",  "mount",    "promote",   "receive",
      "rename",  "rollback", "snapshot", "share", "send",     "userprop",  "userquota",
      "groupquota", "userused", "groupused", "hold", "release"};
  return names;
}

std::string DelegCanonicalPerm(const std::string& perm) {
  const auto& names = DelegPermNames();
  if (std::find(names.begin(), names.end(), perm) != names.end()) return perm;
  // zfs_prop_delegatable: every property but the read-only ones (and mlslabel, not in v23's
  // table here).
  const DatasetPropDef* d = FindDatasetProp(perm);
  if (d && !d->readonly) return d->name;
  return "";
}

bool DelegVerify(const NvList& acl, bool unset) {
  if (acl.empty()) return false;
  for (const auto& who : acl.pairs()) {
    if (!ValidWho(who.name)) return false;
    if (who.value.type != NvType::kNvList) {
      if (!unset) return false;
      continue;
    }
    const NvList& perms = who.value.lists.at(0);
    if (perms.empty()) return false;
    for (const auto& p : perms.pairs())
      if (DelegCanonicalPerm(p.name).empty() && !ValidSetName(p.name)) return false;
  }
  return true;
}

Status DelegSetSync(ObjsetWriter& mos, ZapStore& zaps, uint64_t dir_obj, const NvList& acl, bool unset,
                    std::vector<std::pair<uint64_t, std::string>>* history) {
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, dir_obj));
  const std::string ds = " dataset = " + std::to_string(dd.head_dataset_obj);
  if (!unset) {
    UZFS_ASSIGN(dd, DirWithZap(mos, zaps, dir_obj));
    for (const auto& who : acl.pairs())
      for (const auto& p : who.value.lists.at(0).pairs()) {
        UZFS_TRY(Grant(zaps, dd.deleg_zapobj, who.name, p.name));
        history->push_back({kLogPermUpdate, who.name + " " + p.name + ds});
      }
    return Status::Ok();
  }
  if (!dd.deleg_zapobj) return Status::Ok();
  for (const auto& who : acl.pairs()) {
    UZFS_ASSIGN(uint64_t jump, WhoObj(zaps, dd.deleg_zapobj, who.name));
    if (who.value.type != NvType::kNvList) {  // the who's every permission
      if (jump) UZFS_TRY(DropWho(mos, zaps, dd.deleg_zapobj, who.name, jump));
      history->push_back({kLogPermWhoRemove, who.name + ds});
      continue;
    }
    if (!jump) continue;
    for (const auto& p : who.value.lists.at(0).pairs()) {
      UZFS_ASSIGN(auto e, zaps.Lookup(jump, p.name));
      if (e) UZFS_TRY(zaps.Remove(jump, p.name));
      UZFS_ASSIGN(uint64_t left, zaps.Count(jump));
      if (left == 0) {
        UZFS_TRY(DropWho(mos, zaps, dd.deleg_zapobj, who.name, jump));
        history->push_back({kLogPermRemove, who.name + " " + p.name + ds});
        break;  // v23 goes on with a freed object's lookups failing: nothing more to remove
      }
      history->push_back({kLogPermRemove, who.name + " " + p.name + ds});
    }
  }
  return Status::Ok();
}

Result<DelegEntries> DelegLoad(ObjsetWriter& mos, ZapStore& zaps, uint64_t dir_obj) {
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, dir_obj));
  DelegEntries out;
  if (!dd.deleg_zapobj) return out;
  UZFS_ASSIGN(auto whos, zaps.List(dd.deleg_zapobj));
  for (const ZapEntry& w : whos) {
    auto& perms = out[w.name];
    UZFS_ASSIGN(auto ps, zaps.List(w.first()));
    for (const ZapEntry& p : ps) perms.insert(p.name);
  }
  return out;
}

Status DelegAccess(ObjsetWriter& mos, ZapStore& zaps, uint64_t dir_obj, bool snapshot,
                   const std::string& perm, const DelegCred& cr) {
  // Snapshots are descendants only: local grants do not reach them.
  char flag = snapshot ? 'd' : 'l';
  std::map<std::string, bool> sets;  // set name → expanded (perm_set_t p_matched)
  for (uint64_t d = dir_obj; d; flag = 'd') {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, d));
    d = dd.parent_obj;
    uint64_t zap = dd.deleg_zapobj;
    if (!zap) continue;
    bool found = false;
    // dsl_load_user_sets: the sets granted to the user, the primary group, everyone, each
    // supplementary group.
    UZFS_TRY(LoadSets(zaps, zap, Whokey('U', flag, std::to_string(cr.uid)), &sets, &found));
    UZFS_TRY(LoadSets(zaps, zap, Whokey('G', flag, std::to_string(cr.gid)), &sets, &found));
    UZFS_TRY(LoadSets(zaps, zap, Whokey('E', flag, ""), &sets, &found));
    for (uint64_t g : cr.groups) UZFS_TRY(LoadSets(zaps, zap, Whokey('G', flag, std::to_string(g)), &sets, &found));
    // Each set defined on this dir: does it grant perm, which sets does it include.
    for (bool expanded = true; expanded;) {
      expanded = false;
      std::vector<std::string> names;
      for (const auto& [name, matched] : sets)
        if (!matched) names.push_back(name);
      for (const std::string& name : names) {
        Status s = CheckAccess(zaps, zap, Whokey('s', '-', name), perm);
        if (s.ok()) return s;
        if (s.code() == EPERM) sets[name] = true;
        UZFS_TRY(LoadSets(zaps, zap, Whokey('S', '-', name), &sets, &found));
        if (found) sets[name] = expanded = true;
      }
    }
    // dsl_check_user_access.
    if (CheckAccess(zaps, zap, Whokey('u', flag, std::to_string(cr.uid)), perm).ok()) return Status::Ok();
    if (CheckAccess(zaps, zap, Whokey('g', flag, std::to_string(cr.gid)), perm).ok()) return Status::Ok();
    if (CheckAccess(zaps, zap, Whokey('e', flag, ""), perm).ok()) return Status::Ok();
    for (uint64_t g : cr.groups)
      if (CheckAccess(zaps, zap, Whokey('g', flag, std::to_string(g)), perm).ok()) return Status::Ok();
  }
  return Status::Error(EPERM, "permission denied");
}

Status DelegSetCreatePerms(ObjsetWriter& mos, ZapStore& zaps, uint64_t dir_obj, uint64_t uid) {
  UZFS_ASSIGN(DslDirPhys self, LoadDir(mos, dir_obj));
  for (uint64_t d = self.parent_obj; d;) {
    UZFS_ASSIGN(DslDirPhys pd, LoadDir(mos, d));
    d = pd.parent_obj;
    if (!pd.deleg_zapobj) continue;
    // copy_create_perms, for the permissions (c-$ → ul$UID) and the sets (C-$ → Ul$UID).
    for (char type : {'c', 'C'}) {
      UZFS_ASSIGN(uint64_t pjump, WhoObj(zaps, pd.deleg_zapobj, Whokey(type, '-', "")));
      if (!pjump) continue;
      UZFS_ASSIGN(DslDirPhys dd, DirWithZap(mos, zaps, dir_obj));
      UZFS_ASSIGN(auto perms, zaps.List(pjump));
      for (const ZapEntry& p : perms)
        UZFS_TRY(Grant(zaps, dd.deleg_zapobj, Whokey(type == 'c' ? 'u' : 'U', 'l', std::to_string(uid)), p.name));
    }
  }
  return Status::Ok();
}

Status DelegDestroy(ObjsetWriter& mos, ZapStore& zaps, uint64_t zapobj) {
  if (!zapobj) return Status::Ok();
  UZFS_ASSIGN(auto whos, zaps.List(zapobj));
  for (const ZapEntry& w : whos) {
    zaps.Drop(w.first());
    UZFS_TRY(mos.FreeObject(w.first()));
  }
  zaps.Drop(zapobj);
  return mos.FreeObject(zapobj);
}

}  // namespace uzfs
