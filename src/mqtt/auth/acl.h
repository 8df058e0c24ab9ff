// MQTT topic access control lists in mosquitto's `acl_file` format (mosquitto 2.0 semantics):
//
//   # comment                       (a line whose first non-blank character is '#')
//   topic [read|write|readwrite|deny] <topic>    before any `user` line: anonymous clients
//   user <username>                 starts that user's block (blocks of one name merge)
//   topic [access] <topic>          inside a block: that user
//   pattern [access] <topic>        every client; %c = client id, %u = username
//
// The access word is optional (default readwrite); the topic is the rest of the line and may
// contain spaces when the access word is given. Each topic must be a valid topic filter.
//
// Decision for a topic T and an access (read or write), exactly as mosquitto 2.0 decides it:
//  1. the client's own list (its user block, or the anonymous list when it has no username):
//     any `deny` entry matching T denies; else any entry matching T that grants the access allows;
//  2. if there are patterns and the username or client id contains '+', '#' or '/', deny
//     (mosquitto 2.0 refuses '+' and '#'; IMET also refuses '/', as mosquitto 1.x did, because a
//     client id is chosen by the client and must not reach into another client's subtree);
//  3. patterns, with %c/%u substituted (patterns using %u are skipped for clients without a
//     username): a matching `deny` denies; else a matching pattern that grants the access allows;
//  4. otherwise deny (an ACL file is default-deny).
// Subscriptions (mosquitto's acl_file never refuses one and relies on per-message read checks):
// a filter F is refused only when no message F matches could ever be delivered, i.e. when for
// every read grant G in steps 1-3, F ∩ G is empty or lies entirely inside one `deny` entry that
// would be checked first. Otherwise it is accepted and the broker must still call can_receive()
// for every message it delivers on it (including retained messages). "$share/<group>/<filter>" is
// checked as <filter>.
//
// Thread-safety: an AclFile is immutable after parse(); all const methods may run concurrently.
// Invariants: every stored topic is a valid topic filter; each list keeps its `deny` entries apart
// from its grants, so a deny always wins within a list.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/result.h"

namespace imet::mqtt::auth {

// Who is asking. `username` is absent for anonymous clients; `client_id` is the id the session
// runs under (the server-assigned one when the client sent an empty id).
struct ClientIdentity {
  std::string client_id;
  std::optional<std::string> username;
};

enum class AclAccess : uint8_t { kDeny = 0, kRead = 1, kWrite = 2, kReadWrite = 3 };

std::string_view acl_access_name(AclAccess access);

class AclFile {
 public:
  AclFile() = default;  // no rules: denies everything

  // Reads and parses `path`. Errors name the file and line: "<path>:<line>: <what>".
  static util::Result<AclFile> load(const std::string& path);
  static util::Result<AclFile> parse(std::string_view text, std::string_view source);

  bool can_publish(const ClientIdentity& who, std::string_view topic) const;
  bool can_receive(const ClientIdentity& who, std::string_view topic) const;
  bool can_subscribe(const ClientIdentity& who, std::string_view filter) const;

  // Lines that parsed but probably do not do what was meant (a pattern without %c or %u), as
  // "<path>:<line>: <what>", for the operator's log.
  const std::vector<std::string>& warnings() const { return warnings_; }
  size_t rule_count() const { return rule_count_; }

 private:
  struct Rule {
    std::string topic;
    AclAccess access = AclAccess::kReadWrite;
    bool uses_username = false;  // patterns: contains %u
  };
  struct RuleList {
    std::vector<Rule> denies;
    std::vector<Rule> grants;
    bool empty() const { return denies.empty() && grants.empty(); }
  };
  enum class Verdict : uint8_t { kAllow, kDeny, kNoMatch };

  const RuleList* own_list(const ClientIdentity& who) const;
  bool check_topic(const ClientIdentity& who, std::string_view topic, AclAccess need) const;

  RuleList anonymous_;
  std::unordered_map<std::string, RuleList> users_;
  RuleList patterns_;
  std::vector<std::string> warnings_;
  size_t rule_count_ = 0;
};

// Topic-filter algebra used for subscription checks (filters assumed valid; '$' topics follow
// MQTT-4.7.2-1: a filter starting with a wildcard matches none of them).
// The filter matching exactly the topics both `a` and `b` match, or nullopt if there is none.
std::optional<std::string> intersect_filters(std::string_view a, std::string_view b);
// True iff every topic `inner` matches is matched by `outer`.
bool filter_covers(std::string_view outer, std::string_view inner);
// `pattern` with every %c replaced by `client_id` and every %u by `username` (left to right, as
// mosquitto does; %u stays literal when there is no username).
std::string substitute_pattern(std::string_view pattern, std::string_view client_id,
                               const std::optional<std::string>& username);

}  // namespace imet::mqtt::auth
