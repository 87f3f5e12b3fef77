#include "dnsd/server/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace dnsd::server {
namespace {

struct Account {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

base::Result<Account> lookUp(const std::string& user) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  int rc = getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (rc != 0 || !found)
    return base::Error{"--user " + user + ": no such user" +
                           (rc ? std::string(" (") + std::strerror(rc) + ")" : ""),
                       ""};
  return Account{found->pw_uid, found->pw_gid, found->pw_name};
}

std::string why() { return std::strerror(errno); }

}  // namespace

base::Status checkUser(const std::string& user) {
  if (geteuid() == 0) {
    if (user.empty())
      return base::Error{
          "refusing to run as root: pass --user NAME to drop to NAME after binding the "
          "sockets, or --user root to stay root",
          ""};
    auto account = lookUp(user);
    if (!account) return account.error();
    return base::Ok{};
  }
  if (user.empty()) return base::Ok{};
  auto account = lookUp(user);
  if (!account) return account.error();
  if (account->uid != geteuid())
    return base::Error{"--user " + user + ": only root can switch users; dnsd runs as uid " +
                           std::to_string(geteuid()),
                       ""};
  return base::Ok{};
}

base::Status dropPrivileges(const std::string& user) {
  if (geteuid() != 0 || user.empty()) return base::Ok{};
  auto account = lookUp(user);
  if (!account) return account.error();
  if (account->uid == 0) return base::Ok{};
  // Groups first: after setuid() there is no right left to change them.
  if (initgroups(account->name.c_str(), account->gid) != 0)
    return base::Error{"--user " + user + ": initgroups failed (" + why() + ")", ""};
  if (setgid(account->gid) != 0)
    return base::Error{"--user " + user + ": setgid failed (" + why() + ")", ""};
  if (setuid(account->uid) != 0)
    return base::Error{"--user " + user + ": setuid failed (" + why() + ")", ""};
  if (setuid(0) == 0 || geteuid() == 0)
    return base::Error{"--user " + user + ": root could be regained after the drop", ""};
  return base::Ok{};
}

}  // namespace dnsd::server
