// libFuzzer target for the MQTT auth parsers (src/mqtt/auth): mosquitto password files, ACL files
// and device-token passwords. The first byte picks the parser; the rest is the file or password
// text. Properties checked (abort on violation):
//   - password file: an accepted file serializes to text that parses to the same users and
//     serializes identically again (a fixed point); cost parameters stay within the documented
//     bounds, so verification of an entry can never run unbounded (cheap entries are verified);
//   - ACL: for every valid filter in a fixed list, can_subscribe() is true whenever some topic in
//     a fixed universe matching it is deliverable by can_receive() (subscriptions are refused only
//     when nothing could be delivered); checks with hostile identities never crash;
//   - device token: an accepted token formats back to exactly the input.
// No input may crash, hang or trip the sanitizers.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/auth/acl.h"
#include "mqtt/auth/device_token.h"
#include "mqtt/auth/password_file.h"
#include "mqtt/topic/matching.h"
#include "mqtt/topic/validation.h"

namespace {

using namespace imet::mqtt;        // NOLINT(google-build-using-namespace)
using namespace imet::mqtt::auth;  // NOLINT(google-build-using-namespace)

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "mqtt_auth_fuzz: %s\n", what);
  std::abort();
}

void fuzz_password_file(std::string_view text) {
  auto file = PasswordFile::parse(text, "fuzz");
  if (!file.ok()) {
    if (file.status().message().rfind("fuzz:", 0) != 0) die("error does not name the source");
    return;
  }
  std::string once = file->serialize();
  auto again = PasswordFile::parse(once, "fuzz");
  if (!again.ok()) die("serialized file does not parse");
  if (again->users() != file->users()) die("users changed across serialize/parse");
  if (again->serialize() != once) die("serialize is not a fixed point");
  int verified = 0;
  for (const std::string& user : file->users()) {
    const PasswordHash* h = file->find(user);
    if (h->iterations > kMaxPbkdf2Iterations || h->memory_kib > kMaxArgon2MemoryKib ||
        h->passes > kMaxArgon2Passes || h->lanes > kMaxArgon2Lanes) {
      die("cost parameters outside the bounds were accepted");
    }
    bool cheap = h->scheme == HashScheme::kSha512 ||
                 (h->scheme == HashScheme::kPbkdf2Sha512 && h->iterations <= 200) ||
                 (h->scheme == HashScheme::kArgon2id && h->memory_kib <= 64 && h->passes <= 2);
    if (cheap && verified < 2) {
      ++verified;
      (void)file->check(user, imet::util::as_bytes(std::string_view("password")));
    }
  }
}

void fuzz_acl(std::string_view text) {
  auto acl = AclFile::parse(text, "fuzz");
  if (!acl.ok()) {
    if (acl.status().message().rfind("fuzz:", 0) != 0) die("error does not name the source");
    return;
  }
  static const std::vector<std::string> kTopics = {
      "a", "a/b", "a/b/c", "b/a", "c1", "c1/x", "u1/a", "$SYS/x", "a//b", "x/c1/y", "%u", "%c"};
  static const std::vector<std::string> kFilters = {"#",      "+",    "a/#",  "a/+",
                                                    "+/b",    "c1/#", "u1/+", "$SYS/#",
                                                    "+/c1/#", "a/b",  "%c/#", "$share/g/a/#"};
  const std::vector<ClientIdentity> who = {
      {"c1", std::string("u1")}, {"c1", std::nullopt}, {"c+1", std::string("u/1")}, {"", {}}};
  for (const ClientIdentity& w : who) {
    for (const std::string& t : kTopics) {
      (void)acl->can_publish(w, t);
    }
    for (const std::string& f : kFilters) {
      bool allowed = acl->can_subscribe(w, f);
      std::string_view inner = f;
      if (auto shared = split_shared_subscription(f)) inner = shared->filter;
      for (const std::string& t : kTopics) {
        if (topic_matches(inner, t) && acl->can_receive(w, t) && !allowed) {
          die("a subscription was refused although a message under it is deliverable");
        }
      }
    }
  }
}

void fuzz_device_token(std::string_view text) {
  auto token = parse_device_token(text);
  if (token.ok() && format_device_token(*token) != text) die("device token is not canonical");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      fuzz_password_file(text);
      break;
    case 1:
      fuzz_acl(text);
      break;
    default:
      fuzz_device_token(text);
      break;
  }
  return 0;
}
