// zfsd's delegated administration (pool version 15): zfs allow / unallow (zfs_ioc_set_fsacl,
// zfs_ioc_get_fsacl) and the permission each dataset operation needs from a caller other
// than root (zfs-fuse zfs_ioctl.c zfs_secpolicy_*: zfs_secpolicy_write_perms is root, or
// dsl_deleg_access granting the permission).
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include "daemon/args.h"
#include "daemon/dataset_ops.h"
#include "libcore/base/zfs_prop.h"
#include "libcore/dsl/dsl_deleg.h"
#include "libzfs/proto.h"

namespace uzfs {

namespace {

std::string FsOf(const std::string& name) { return name.substr(0, name.find('@')); }

// zfs_get_parent: a snapshot's filesystem, else the name less its last component.
std::string ParentOf(const std::string& name) {
  if (name.find('@') != std::string::npos) return FsOf(name);
  size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(0, slash);
}

}  // namespace

static DelegCred CredOf(const Caller& c) {
  DelegCred cr;
  cr.uid = c.uid;
  cr.gid = c.gid;
  // The supplementary groups are not in SO_PEERCRED: the caller's /proc status has them.
  if (c.pid > 0) {
    std::ifstream f("/proc/" + std::to_string(c.pid) + "/status");
    std::string line;
    while (std::getline(f, line))
      if (line.rfind("Groups:", 0) == 0) {
        std::istringstream in(line.substr(7));
        uint64_t g;
        while (in >> g) cr.groups.push_back(g);
      }
  }
  return cr;
}

Status DatasetOps::Access(const std::string& name, const std::string& perm) {
  if (caller_.uid == 0) return Status::Ok();  // secpolicy_zfs
  DelegCred cr = CredOf(caller_);
  return WithPool(name, [&](Pool& p) { return p.DelegationAccess(name, perm, cr); });
}

Status DatasetOps::AccessAll(const std::string& name, std::initializer_list<const char*> perms) {
  for (const char* perm : perms) UZFS_TRY(Access(name, perm));
  return Status::Ok();
}

// zfs_secpolicy_setprop / zfs_secpolicy_inherit: a user property needs userprop,
// {user,group}quota@ userquota / groupquota, any other property its own name (when
// delegatable: zfs_prop_delegatable).
Status DatasetOps::PropAccess(const std::string& name, const std::string& prop) {
  if (caller_.uid == 0) return Status::Ok();
  if (IsUserProp(prop)) return Access(name, "userprop");
  if (prop.rfind("userquota@", 0) == 0) return Access(name, "userquota");
  if (prop.rfind("groupquota@", 0) == 0) return Access(name, "groupquota");
  std::string perm = DelegCanonicalPerm(CanonicalPropName(prop));
  if (perm.empty() || perm == "zoned")
    return Status::Error(EPERM, "permission denied");
  return Access(name, perm);
}

// zfs_secpolicy_create for a new dataset `name` (and its parents with -p): create and mount
// on the parent. With parents missing (-p), the nearest existing ancestor must grant them
// to its descendants (the new parents inherit only those).
Status DatasetOps::CreateAccess(const std::string& name) {
  std::string parent = ParentOf(name);
  bool missing = false;
  while (true) {
    Status s = WithPool(parent, [&](Pool& p) { return p.DatasetProps(parent).status(); });
    if (s.ok()) break;
    if (parent.find('/') == std::string::npos) return Status::Ok();  // the create's own error
    missing = true;
    parent = ParentOf(parent);
  }
  UZFS_TRY(AccessAll(parent, {"create", "mount"}));
  // A missing level: the grant must reach descendants (the view a snapshot of it gets).
  if (missing && caller_.uid != 0) {
    DelegCred cr = CredOf(caller_);
    for (const char* perm : {"create", "mount"})
      UZFS_TRY(WithPool(parent, [&](Pool& p) { return p.DelegationAccess(parent, perm, cr, true); }));
  }
  return Status::Ok();
}

Status DatasetOps::Secpolicy(uint64_t op, const NvList& a) {
  using proto::OpId;
  const std::string name = Str(a, "name");
  switch (static_cast<OpId>(op)) {
    case OpId::kZfsCreate: {
      UZFS_TRY(CreateAccess(name));
      if (const NvList* props = a.GetNvList("props"))
        for (const auto& p : props->pairs())
          if (p.name != "volsize" && p.name != "volblocksize") {
            // zfs_set_prop_nvlist on the new dataset: what its parent gives descendants.
            if (IsUserProp(p.name)) UZFS_TRY(BelowAccess(ParentOf(name), "userprop"));
            else UZFS_TRY(BelowAccess(ParentOf(name), DelegCanonicalPerm(CanonicalPropName(p.name))));
          }
      return Status::Ok();
    }
    case OpId::kZfsClone: {
      UZFS_TRY(Access(Str(a, "origin"), "clone"));
      return CreateAccess(name);
    }
    case OpId::kZfsDestroy: {
      // zfs_secpolicy_destroy_perms on each dataset the destroy takes (libzfs destroys a
      // tree one dataset at a time); a snapshot -r is one ioctl checked on the named one.
      if (name.find('@') != std::string::npos) return AccessAll(name, {"mount", "destroy"});
      NvList dry = a, out;
      dry.Remove("dryrun");
      dry.AddBooleanValue("dryrun", true);
      UZFS_TRY(Destroy(dry, &out));
      const NvValue* d = out.Find("destroyed");
      for (const std::string& n : d ? d->s_arr : std::vector<std::string>{name})
        UZFS_TRY(AccessAll(n, {"mount", "destroy"}));
      return Status::Ok();
    }
    case OpId::kZfsSet: {
      if (const NvList* props = a.GetNvList("props"))
        for (const auto& p : props->pairs()) UZFS_TRY(PropAccess(name, p.name));
      return Status::Ok();
    }
    case OpId::kZfsInherit: {
      // inherit -r: libzfs inherits on each filesystem of the tree, each checked.
      std::vector<std::string> targets{name};
      if (Flag(a, "recursive"))
        UZFS_TRY(WithPool(name, [&](Pool& p) -> Status {
          UZFS_ASSIGN(auto all, p.Datasets());
          for (const auto& d : all)
            if (!d.snapshot && d.name.size() > name.size() && d.name.compare(0, name.size() + 1, name + "/") == 0)
              targets.push_back(d.name);
          return Status::Ok();
        }));
      for (const std::string& t : targets) UZFS_TRY(PropAccess(t, Str(a, "property")));
      return Status::Ok();
    }
    case OpId::kZfsSnapshot: {
      const NvValue* names = a.Find("names");
      for (const std::string& n : names ? names->s_arr : std::vector<std::string>{})
        UZFS_TRY(Access(FsOf(n), "snapshot"));
      return Status::Ok();
    }
    case OpId::kZfsRollback:
      UZFS_TRY(Access(FsOf(name), "rollback"));
      // -r destroys the later snapshots (each checked as a snapshot of the filesystem: any
      // one of them answers for all).
      if (Flag(a, "recursive")) UZFS_TRY(AccessAll(name, {"mount", "destroy"}));
      return Status::Ok();
    case OpId::kZfsPromote: {
      UZFS_TRY(AccessAll(name, {"promote", "mount"}));
      std::string origin;
      UZFS_TRY(WithPool(name, [&](Pool& p) -> Status {
        UZFS_ASSIGN(auto props, p.DatasetProps(name));
        for (const auto& pr : props)
          if (pr.name == "origin") origin = pr.value;
        return Status::Ok();
      }));
      if (!origin.empty() && origin != "-") UZFS_TRY(Access(origin, "promote"));
      return Status::Ok();
    }
    case OpId::kZfsRename: {
      // zfs_secpolicy_rename_perms.
      std::string to = Str(a, "newname");
      UZFS_TRY(AccessAll(name, {"rename", "mount"}));
      if (to.find('@') == std::string::npos) return CreateAccess(to);
      return AccessAll(ParentOf(to), {"create", "mount"});
    }
    case OpId::kZfsMount:
      return MountAccess(a);
    case OpId::kZfsUnmount: {
      // zfs_secpolicy_umount: mount, on the filesystem (or the one mounted at the path).
      std::string fs = name;
      if (!fs.empty() && fs[0] == '/')
        for (auto& [f, mp] : m_->List())
          if (mp == fs) fs = f;
      if (!fs.empty() && fs[0] == '/') return Status::Error(EPERM, "permission denied");
      return Access(fs, "mount");
    }
    case OpId::kZfsSend:
      return Access(name, "send");
    case OpId::kZfsReceive: {
      // zfs_secpolicy_receive on the filesystem received into (its parent when new).
      std::string target = FsOf(Str(a, "target"));
      Status s = WithPool(target, [&](Pool& p) { return p.DatasetProps(target).status(); });
      if (!s.ok()) target = ParentOf(target);  // -d / -e name an existing one
      return AccessAll(target, {"receive", "mount", "create"});
    }
    case OpId::kZfsHold:
      return Access(FsOf(name), "hold");
    case OpId::kZfsRelease:
      return Access(FsOf(name), "release");
    case OpId::kZfsUserspace:
      // zfs_secpolicy_userspace_many per table: filtered after the handler (UserspaceFilter).
      return Status::Ok();
    default:
      return Status::Error(EPERM, "permission denied");
  }
}

Status DatasetOps::BelowAccess(const std::string& name, const std::string& perm) {
  if (caller_.uid == 0) return Status::Ok();
  if (perm.empty()) return Status::Error(EPERM, "permission denied");
  DelegCred cr = CredOf(caller_);
  return WithPool(name, [&](Pool& p) { return p.DelegationAccess(name, perm, cr, true); });
}

// zfs mount by a user (zfs_vfsops.c zfs_mount): the mount permission, a mountpoint directory
// the caller owns or may write, and no setuid or device files honoured
// (secpolicy_fs_mount_clearopts).
Status DatasetOps::MountAccess(const NvList& a) {
  std::string name = Str(a, "name");
  if (name.empty() || caller_.uid == 0) return Status::Ok();
  if (!Str(a, "at").empty()) return Status::Error(EPERM, "permission denied");  // mount(8): root's
  UZFS_TRY(Access(name, "mount"));
  std::string mp = m_->MountpointFor(name);
  struct stat st;
  if (mp.empty() || mp[0] != '/' || ::stat(mp.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::Error(EPERM, "permission denied");
  DelegCred cr = CredOf(caller_);
  bool in_group = st.st_gid == cr.gid;
  for (uint64_t g : cr.groups) in_group |= g == st.st_gid;
  bool writable = st.st_uid == cr.uid ? (st.st_mode & S_IWUSR) : in_group ? (st.st_mode & S_IWGRP)
                                                                         : (st.st_mode & S_IWOTH);
  if (st.st_uid != cr.uid && !writable) return Status::Error(EPERM, "permission denied");
  return Status::Ok();
}

Status DatasetOps::UserMount(const std::string& fs) {
  std::string canmount = "on";
  UZFS_TRY(WithPool(fs, [&](Pool& p) -> Status {
    UZFS_ASSIGN(auto props, p.DatasetProps(fs));
    for (const auto& pr : props)
      if (pr.name == "canmount") canmount = pr.value;
    return Status::Ok();
  }));
  std::string mp = m_->MountpointFor(fs);
  if (canmount != "on" || mp.empty() || mp[0] != '/') return Status::Ok();
  NvList a;
  a.AddString("name", fs);
  UZFS_TRY(MountAccess(a));
  MountTable::TempOptions t;
  t.setuid = false;
  t.devices = false;
  return m_->Mount(fs, t);
}

Status DatasetOps::SetAcl(const NvList& args, NvList*) {
  std::string name = Str(args, "name");
  UZFS_TRY(CheckDatasetName(name, false));
  const NvList* acl = args.GetNvList("acl");
  if (!acl || !DelegVerify(*acl, Flag(args, "unset"))) return Status::Error(EINVAL, "invalid permission");
  bool unset = Flag(args, "unset");
  if (caller_.uid != 0) {
    // dsl_deleg_can_allow: allow, and each permission given (never allow itself);
    // dsl_deleg_can_unallow: allow, and only the caller's own user entries.
    UZFS_TRY(Access(name, "allow"));
    for (const auto& who : acl->pairs()) {
      if (unset) {
        if ((who.name[0] != 'u' && who.name[0] != 'U') || who.name.substr(3) != std::to_string(caller_.uid))
          return Status::Error(EPERM, "permission denied");
        continue;
      }
      for (const auto& p : who.value.lists.at(0).pairs()) {
        if (p.name == "allow") return Status::Error(EPERM, "permission denied");
        UZFS_TRY(Access(name, p.name));
      }
    }
  }
  return WithPool(name, [&](Pool& p) -> Status {
    UZFS_TRY(p.SetDelegations(name, *acl, unset));
    return p.Sync();
  });
}

Status DatasetOps::GetAcl(const NvList& args, NvList* result) {
  std::string name = Str(args, "name");
  UZFS_TRY(CheckDatasetName(name, false));
  NvList out;
  UZFS_TRY(WithPool(name, [&](Pool& p) -> Status {
    UZFS_ASSIGN(auto all, p.Delegations(name));
    for (const auto& [ds, entries] : all) {
      NvList whos;
      for (const auto& [who, perms] : entries) {
        NvList pl;
        for (const std::string& perm : perms) pl.AddBoolean(perm);
        whos.AddNvList(who, pl);
      }
      out.AddNvList(ds, whos);
    }
    return Status::Ok();
  }));
  result->AddNvList("acl", out);
  return Status::Ok();
}

// zfs_secpolicy_userspace_many / _one for a user: each table the caller may not read is
// cut down to the caller's own uid (user tables) or groups (group tables).
Status DatasetOps::UserspaceFilter(const std::string& name, NvList* result) {
  if (caller_.uid == 0) return Status::Ok();
  DelegCred cr = CredOf(caller_);
  NvList out;
  for (const auto& t : result->pairs()) {
    if (t.value.type != NvType::kNvList || Access(name, t.name).ok()) {
      out.AddValue(t.name, t.value);
      continue;
    }
    bool user = t.name.rfind("user", 0) == 0;
    NvList kept;
    for (const auto& e : t.value.lists.at(0).pairs()) {
      uint64_t id = std::strtoull(e.name.c_str(), nullptr, 10);
      bool mine = user ? id == cr.uid : id == cr.gid;
      for (uint64_t g : cr.groups) mine |= !user && id == g;
      if (mine) kept.AddValue(e.name, e.value);
    }
    out.AddNvList(t.name, kept);
  }
  *result = std::move(out);
  return Status::Ok();
}

}  // namespace uzfs
