// Hot spares shared between the pools of one process (OpenZFS spa_misc.c's spa_spare_avl:
// spa_spare_add, spa_spare_remove, spa_spare_exists, spa_spare_activate). One device may be
// a spare of several imported pools under one guid; it serves at most one of them at a time,
// and the others then list it INUSE "in use by pool 'NAME'" and do not activate it.
//
// Each pool reports what it lists and what serves in its tree: Listed when it adds or loads
// a spare, Serving when a spare joins or leaves its tree (replace, detach, import), Unlist
// when it drops one, DropPool when it goes (export, destroy, close).
//
// Thread safety: every function may be called from any thread; one mutex guards the map.
// Pools call in with their own lock held: the registry calls nothing back.
#pragma once

#include <cstdint>
#include <string>

namespace uzfs::spare_registry {

void Listed(uint64_t guid, uint64_t pool_guid, const std::string& pool_name);
void Unlist(uint64_t guid, uint64_t pool_guid);
void Serving(uint64_t guid, uint64_t pool_guid, const std::string& pool_name, bool serving);
void DropPool(uint64_t pool_guid);
// spa_spare_activate: the spare serves pool_guid from now, unless it serves another pool
// already (false, nothing changed).
bool Claim(uint64_t guid, uint64_t pool_guid, const std::string& pool_name);

// The pool (name, guid) the spare serves in; false when it serves in none.
bool ServingIn(uint64_t guid, std::string* pool_name, uint64_t* pool_guid);
// True when some pool other than pool_guid lists the spare.
bool ListedElsewhere(uint64_t guid, uint64_t pool_guid);

}  // namespace uzfs::spare_registry
