#include "mqtt/auth/acl.h"

#include "mqtt/auth/encoding.h"
#include "mqtt/topic/matching.h"
#include "mqtt/topic/validation.h"
#include "util/fs.h"

namespace imet::mqtt::auth {

namespace {

constexpr size_t kMaxAclFileBytes = 64 << 20;

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back()))
    s.remove_suffix(1);
  return s;
}

// Splits off the first blank-separated word of `s` (which has no leading blanks).
std::string_view next_word(std::string_view& s) {
  size_t end = 0;
  while (end < s.size() && !is_blank(s[end]))
    ++end;
  std::string_view word = s.substr(0, end);
  s = trim(s.substr(end));
  return word;
}

bool is_wildcard(std::string_view level) {
  return level == "+" || level == "#";
}

bool starts_with_dollar(std::string_view level) {
  return !level.empty() && level.front() == '$';
}

// MQTT-4.7.2-1: a filter whose first level is a wildcard matches no topic starting with '$'.
// True when one side only admits '$' topics at level 0 and the other excludes them.
bool dollar_conflict(std::string_view a0, std::string_view b0) {
  return (is_wildcard(a0) && starts_with_dollar(b0)) || (is_wildcard(b0) && starts_with_dollar(a0));
}

std::string join(const std::vector<std::string_view>& levels) {
  std::string out;
  for (size_t i = 0; i < levels.size(); ++i) {
    if (i) out += '/';
    out += levels[i];
  }
  return out;
}

// A client whose id or username could change what a pattern means (mosquitto refuses '+' and
// '#'; IMET also refuses '/').
bool dangerous_identity(const ClientIdentity& who) {
  constexpr std::string_view kBad = "+#/";
  if (who.client_id.find_first_of(kBad) != std::string::npos) return true;
  return who.username && who.username->find_first_of(kBad) != std::string::npos;
}

bool grants(AclAccess have, AclAccess need) {
  return (static_cast<uint8_t>(have) & static_cast<uint8_t>(need)) != 0;
}

}  // namespace

std::string_view acl_access_name(AclAccess access) {
  switch (access) {
    case AclAccess::kDeny:
      return "deny";
    case AclAccess::kRead:
      return "read";
    case AclAccess::kWrite:
      return "write";
    case AclAccess::kReadWrite:
      return "readwrite";
  }
  return "unknown";
}

std::optional<std::string> intersect_filters(std::string_view a, std::string_view b) {
  auto la = detail::split(a, '/');
  auto lb = detail::split(b, '/');
  if (dollar_conflict(la[0], lb[0])) return std::nullopt;
  std::vector<std::string_view> out;
  for (size_t i = 0;; ++i) {
    bool a_end = i == la.size();
    bool b_end = i == lb.size();
    if (a_end && b_end) return join(out);
    // '#' also matches the parent level: "a/#" ∩ "a" = "a".
    if (!a_end && la[i] == "#") {
      out.insert(out.end(), lb.begin() + static_cast<std::ptrdiff_t>(i), lb.end());
      return join(out);
    }
    if (!b_end && lb[i] == "#") {
      out.insert(out.end(), la.begin() + static_cast<std::ptrdiff_t>(i), la.end());
      return join(out);
    }
    if (a_end || b_end) return std::nullopt;  // different depths, no '#' to absorb them
    if (la[i] == "+") {
      out.push_back(lb[i]);
    } else if (lb[i] == "+" || la[i] == lb[i]) {
      out.push_back(la[i]);
    } else {
      return std::nullopt;
    }
  }
}

bool filter_covers(std::string_view outer, std::string_view inner) {
  auto lo = detail::split(outer, '/');
  auto li = detail::split(inner, '/');
  if (is_wildcard(lo[0]) && starts_with_dollar(li[0])) return false;
  for (size_t i = 0;; ++i) {
    if (i < lo.size() && lo[i] == "#") return true;
    bool o_end = i == lo.size();
    bool i_end = i == li.size();
    if (o_end && i_end) return true;
    if (o_end || i_end) return false;
    if (li[i] == "#") return false;  // inner reaches depths outer (no '#' here) does not
    if (lo[i] == "+") continue;
    if (li[i] == "+" || li[i] != lo[i]) return false;
  }
}

std::string substitute_pattern(std::string_view pattern, std::string_view client_id,
                               const std::optional<std::string>& username) {
  std::string out;
  out.reserve(pattern.size() + client_id.size());
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size()) {
      if (pattern[i + 1] == 'c') {
        out += client_id;
        ++i;
        continue;
      }
      if (pattern[i + 1] == 'u' && username) {
        out += *username;
        ++i;
        continue;
      }
    }
    out += pattern[i];
  }
  return out;
}

util::Result<AclFile> AclFile::load(const std::string& path) {
  auto text = util::read_file(path, kMaxAclFileBytes);
  if (!text.ok()) return text.status().with_context("cannot read the MQTT ACL file");
  return parse(*text, path);
}

util::Result<AclFile> AclFile::parse(std::string_view text, std::string_view source) {
  AclFile acl;
  std::optional<std::string> user;  // current `user` block; none: anonymous
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view raw =
        text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    ++line_no;
    auto where = [&] { return std::string(source) + ":" + std::to_string(line_no) + ": "; };
    auto fail = [&](const std::string& what) { return util::invalid_argument(where() + what); };
    std::string_view rest = trim(raw);
    if (rest.empty() || rest.front() == '#') continue;
    std::string_view keyword = next_word(rest);
    if (keyword == "user") {
      if (rest.empty()) return fail("'user' needs a username");
      user = std::string(rest);
      continue;
    }
    if (keyword != "topic" && keyword != "pattern") {
      std::string shown(keyword.substr(0, 32));
      return fail("unknown keyword '" + shown + "' (expected topic, pattern or user)");
    }
    if (rest.empty()) return fail("'" + std::string(keyword) + "' needs a topic");
    // "topic T" (T without blanks) or "topic ACCESS T..." (T is the rest of the line).
    std::string_view first = next_word(rest);
    Rule rule;
    std::string_view topic;
    if (rest.empty()) {
      topic = first;
      rule.access = AclAccess::kReadWrite;
    } else {
      topic = rest;
      if (first == "read") {
        rule.access = AclAccess::kRead;
      } else if (first == "write") {
        rule.access = AclAccess::kWrite;
      } else if (first == "readwrite") {
        rule.access = AclAccess::kReadWrite;
      } else if (first == "deny") {
        rule.access = AclAccess::kDeny;
      } else {
        std::string shown(first.substr(0, 32));
        return fail("unknown access '" + shown + "' (expected read, write, readwrite or deny)");
      }
    }
    TopicCheck check = validate_topic_filter(topic);
    if (!check.ok()) {
      std::string shown(topic.substr(0, 200));
      return fail("invalid topic filter '" + shown + "': " + std::string(check.message));
    }
    rule.topic = std::string(topic);
    RuleList* list = nullptr;
    if (keyword == "pattern") {
      rule.uses_username = topic.find("%u") != std::string_view::npos;
      if (!rule.uses_username && topic.find("%c") == std::string_view::npos) {
        acl.warnings_.push_back(where() + "pattern '" + rule.topic +
                                "' contains neither %c nor %u (it applies to every client)");
      }
      list = &acl.patterns_;
    } else {
      list = user ? &acl.users_[*user] : &acl.anonymous_;
    }
    if (rule.access == AclAccess::kDeny) {
      list->denies.push_back(std::move(rule));
    } else {
      list->grants.push_back(std::move(rule));
    }
    ++acl.rule_count_;
  }
  return acl;
}

const AclFile::RuleList* AclFile::own_list(const ClientIdentity& who) const {
  if (!who.username) return &anonymous_;
  auto it = users_.find(*who.username);
  return it == users_.end() ? nullptr : &it->second;
}

bool AclFile::check_topic(const ClientIdentity& who, std::string_view topic, AclAccess need) const {
  if (const RuleList* own = own_list(who)) {
    for (const Rule& r : own->denies) {
      if (topic_matches(r.topic, topic)) return false;
    }
    for (const Rule& r : own->grants) {
      if (grants(r.access, need) && topic_matches(r.topic, topic)) return true;
    }
  }
  if (patterns_.empty()) return false;
  if (dangerous_identity(who)) return false;
  for (const Rule& r : patterns_.denies) {
    if (r.uses_username && !who.username) continue;
    if (topic_matches(substitute_pattern(r.topic, who.client_id, who.username), topic)) {
      return false;
    }
  }
  for (const Rule& r : patterns_.grants) {
    if (!grants(r.access, need) || (r.uses_username && !who.username)) continue;
    if (topic_matches(substitute_pattern(r.topic, who.client_id, who.username), topic)) {
      return true;
    }
  }
  return false;
}

bool AclFile::can_publish(const ClientIdentity& who, std::string_view topic) const {
  return check_topic(who, topic, AclAccess::kWrite);
}

bool AclFile::can_receive(const ClientIdentity& who, std::string_view topic) const {
  return check_topic(who, topic, AclAccess::kRead);
}

bool AclFile::can_subscribe(const ClientIdentity& who, std::string_view filter) const {
  if (auto shared = split_shared_subscription(filter)) filter = shared->filter;
  if (filter.empty()) return false;
  std::vector<std::string> denies;  // every deny checked before the grant being considered
  auto covered_by_deny = [&](std::string_view f) {
    for (const std::string& d : denies) {
      if (filter_covers(d, f)) return true;
    }
    return false;
  };
  auto reachable = [&](std::string_view grant) {
    auto both = intersect_filters(grant, filter);
    return both && !covered_by_deny(*both);
  };
  if (const RuleList* own = own_list(who)) {
    for (const Rule& r : own->denies)
      denies.push_back(r.topic);
    if (covered_by_deny(filter)) return false;
    for (const Rule& r : own->grants) {
      if (grants(r.access, AclAccess::kRead) && reachable(r.topic)) return true;
    }
  }
  if (patterns_.empty() || dangerous_identity(who)) return false;
  for (const Rule& r : patterns_.denies) {
    if (r.uses_username && !who.username) continue;
    denies.push_back(substitute_pattern(r.topic, who.client_id, who.username));
  }
  if (covered_by_deny(filter)) return false;
  for (const Rule& r : patterns_.grants) {
    if (!grants(r.access, AclAccess::kRead) || (r.uses_username && !who.username)) continue;
    if (reachable(substitute_pattern(r.topic, who.client_id, who.username))) return true;
  }
  return false;
}

}  // namespace imet::mqtt::auth
