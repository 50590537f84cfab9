// Reading `access:` (under `warden:` and under a program): who may read and who may control, by
// user and group. Names are resolved to ids here, once, so that a typo is a config error at its
// line instead of a rule that silently matches no one; numeric ids are taken as written.
#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader_internal.h"
#include "config/values.h"

namespace warden::config::internal {
namespace {

constexpr std::array<std::string_view, 2> kAccessKeys = {"read", "control"};
constexpr std::array<std::string_view, 2> kListKeys = {"users", "groups"};

// (uid_t)-1 and (gid_t)-1 mean "no change" to chown and friends: never a real id.
constexpr int64_t kMaxId = std::numeric_limits<uint32_t>::max() - 1;

}  // namespace

std::optional<uint32_t> LookUp(IdKind kind, const std::string& name, std::string* why) {
  std::vector<char> buffer(16384);
  for (;;) {
    int rc = 0;
    if (kind == IdKind::kUser) {
      passwd entry{};
      passwd* found = nullptr;
      rc = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
      if (rc == 0 && found != nullptr) return found->pw_uid;
    } else {
      group entry{};
      group* found = nullptr;
      rc = ::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
      if (rc == 0 && found != nullptr) return found->gr_gid;
    }
    if (rc == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 4);
      continue;
    }
    // 0, ENOENT, ESRCH, EBADF and EPERM all mean "no such name" for these calls (getpwnam(3)).
    if (rc != 0 && rc != ENOENT && rc != ESRCH && rc != EBADF && rc != EPERM) {
      *why = std::string("cannot look it up: ") + std::strerror(rc);
    } else {
      *why = kind == IdKind::kUser ? "no such user" : "no such group";
    }
    return std::nullopt;
  }
}

namespace {

template <typename Id>
void ReadIds(const FileReader& reader, const Entry& entry, IdKind kind, const std::string& context,
             std::vector<Id>* ids) {
  if (entry.value.IsNull()) return;  // `users:` with nothing after it: nobody
  const auto items = reader.StringList(entry);
  if (!items) return;
  const char* noun = kind == IdKind::kUser ? "user" : "group";
  for (const Located& item : *items) {
    if (item.text.empty()) {
      reader.Error(item.where, "empty " + std::string(noun) + " name in " + context);
      continue;
    }
    uint32_t id = 0;
    if (const auto number = ParseInteger(item.text)) {
      if (*number < 0 || *number > kMaxId) {
        reader.Error(item.where, std::string(noun) + " id " + item.text + " in " + context +
                                     " is out of range");
        continue;
      }
      id = static_cast<uint32_t>(*number);
    } else {
      std::string why;
      const auto found = LookUp(kind, item.text, &why);
      if (!found) {
        reader.Error(item.where, "unknown " + std::string(noun) + " '" + item.text + "' in " +
                                     context + ": " + why);
        continue;
      }
      id = *found;
    }
    if (std::find(ids->begin(), ids->end(), static_cast<Id>(id)) == ids->end()) {
      ids->push_back(static_cast<Id>(id));
    }
  }
}

void ReadList(const FileReader& reader, const Entry& entry, const std::string& context,
              AccessList* list) {
  if (entry.value.IsNull()) return;
  if (!entry.value.IsMap()) {
    reader.Error(entry.value_where, context +
                                        " must be a map such as {users: [alice], groups: "
                                        "[ops]}");
    return;
  }
  reader.ForEachEntry(entry.value, entry.value_where, context, [&](const Entry& e) {
    const std::string where = "'" + e.key + "' of " + context;
    if (e.key == "users") {
      ReadIds(reader, e, IdKind::kUser, where, &list->users);
    } else if (e.key == "groups") {
      ReadIds(reader, e, IdKind::kGroup, where, &list->groups);
    } else {
      reader.UnknownKey(e, "in " + context, kListKeys);
    }
  });
}

}  // namespace

std::span<const std::string_view> AccessKeys() { return kAccessKeys; }
std::span<const std::string_view> AccessListKeys() { return kListKeys; }

void ReadAccess(const FileReader& reader, const Entry& entry, const std::string& owner,
                AccessRules* rules) {
  const std::string context = "'access' of " + owner;
  if (entry.value.IsNull()) return;
  if (!entry.value.IsMap()) {
    reader.Error(entry.value_where,
                 context +
                     " must be a map such as {read: {users: [alice]}, control: {groups: "
                     "[ops]}}");
    return;
  }
  reader.ForEachEntry(entry.value, entry.value_where, context, [&](const Entry& e) {
    const std::string list_context = "'access." + e.key + "' of " + owner;
    if (e.key == "read") {
      ReadList(reader, e, list_context, &rules->read);
    } else if (e.key == "control") {
      ReadList(reader, e, list_context, &rules->control);
    } else {
      reader.UnknownKey(e, "in " + context, kAccessKeys);
    }
  });
}

}  // namespace warden::config::internal
