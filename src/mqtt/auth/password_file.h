// MQTT password files in mosquitto's format, so a mosquitto deployment can point IMET at its
// existing `password_file`. One `username:hash` entry per line; lines whose first non-blank
// character is '#', and blank lines, are kept as they are. Hash formats:
//   $6$<b64 salt>$<b64 hash>          SHA-512(password || salt)      (mosquitto 1.x, -H sha512)
//   $7$<iter>$<b64 salt>$<b64 hash>   PBKDF2-HMAC-SHA512, 64 bytes    (mosquitto 2.x default)
//   $argon2id$v=19$m=..,t=..,p=..$..  Argon2id, libsodium crypto_pwhash_str (what IMET writes)
// Cost of one check (docs/mqtt-auth.md has the measurement): $6$ microseconds, $7$ with
// mosquitto's 101 iterations under a millisecond, Argon2id with the INTERACTIVE parameters IMET
// writes ~800x a $7$ check (0.1-0.6 s) and 64 MiB of memory. Successful checks are not cached:
// the broker should run checks off its I/O threads and bound how many run at once.
//
// Thread-safety: a PasswordFile is a value; const methods (find, check, serialize, save) may run
// concurrently; mutation (set, remove) needs exclusive access.
// Invariants: usernames are unique, non-empty, at most kMaxUsernameBytes, contain no ':' and no
// control characters, do not start with '#', and have no leading/trailing blanks; every entry's
// hash parsed successfully, and its cost parameters are within the k*Max bounds below, so a hostile
// file cannot make a check run (or allocate) without bound. Entries keep their original text: an
// existing $6$/$7$ entry is written back byte for byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"

namespace imet::mqtt::auth {

enum class HashScheme : uint8_t {
  kSha512,        // $6$
  kPbkdf2Sha512,  // $7$
  kArgon2id,      // $argon2id$
};

// Bounds on costs read from a file (inclusive). mosquitto_passwd writes 101 PBKDF2 iterations.
inline constexpr uint32_t kMaxPbkdf2Iterations = 1'000'000;
inline constexpr uint64_t kMaxArgon2MemoryKib = 256 * 1024;  // 256 MiB
inline constexpr uint32_t kMaxArgon2Passes = 10;
inline constexpr uint32_t kMaxArgon2Lanes = 16;
inline constexpr size_t kMaxUsernameBytes = 65535;  // the MQTT string limit
inline constexpr size_t kMaxPasswordBytes = 65535;
inline constexpr size_t kMaxPasswordFileBytes = 64 << 20;

// What `set` writes: libsodium's INTERACTIVE Argon2id parameters (2 passes, 64 MiB).
struct Argon2Params {
  uint64_t opslimit;
  uint64_t memlimit_bytes;
};
Argon2Params default_argon2_params();

// One parsed hash. `encoded` is the text stored after "username:".
struct PasswordHash {
  HashScheme scheme = HashScheme::kArgon2id;
  std::string encoded;
  uint32_t iterations = 0;  // $7$
  util::Bytes salt;         // $6$ and $7$
  util::Bytes digest;       // $6$ and $7$ (64 bytes)
  uint64_t memory_kib = 0;  // Argon2id m
  uint32_t passes = 0;      // Argon2id t
  uint32_t lanes = 0;       // Argon2id p
};

std::string_view hash_scheme_name(HashScheme scheme);

// Parses the hash field of an entry. Errors (kInvalidArgument) say what is wrong, without file or
// line (the caller adds them).
util::Result<PasswordHash> parse_password_hash(std::string_view text);

// True iff `password` matches. Digests are compared in constant time (Argon2id: libsodium's
// verifier). Never throws; returns false if the hash cannot be computed.
bool verify_password(const PasswordHash& hash, util::ByteSpan password);

// A fresh Argon2id hash (random salt) in crypto_pwhash_str format. kInvalidArgument for an
// empty or over-long password or parameters outside the bounds above; kUnavailable if Argon2id
// cannot get its memory.
util::Result<PasswordHash> hash_password_argon2id(std::string_view password,
                                                  Argon2Params params = default_argon2_params());

// A $6$ or $7$ hash as mosquitto_passwd computes it, with the given salt (tests and tools).
PasswordHash hash_password_mosquitto(HashScheme scheme, std::string_view password,
                                     util::ByteSpan salt, uint32_t iterations = 101);

// Checks a username for `set`: what a password file can hold and the parser gives back.
util::Status validate_username(std::string_view username);

class PasswordFile {
 public:
  enum class Check : uint8_t { kOk, kUnknownUser, kWrongPassword };

  PasswordFile() = default;

  // Reads and parses `path`. Errors name the file and line: "<path>:<line>: <what>".
  static util::Result<PasswordFile> load(const std::string& path);
  // Parses `text`; `source` names it in errors (usually the path).
  static util::Result<PasswordFile> parse(std::string_view text, std::string_view source);

  size_t size() const { return index_.size(); }
  bool contains(std::string_view user) const { return find(user) != nullptr; }
  const PasswordHash* find(std::string_view user) const;
  // Usernames in file order.
  std::vector<std::string> users() const;

  Check check(std::string_view user, util::ByteSpan password) const;

  // Adds `user` or replaces its hash with a new Argon2id hash of `password` (in place: the entry
  // keeps its position in the file).
  util::Status set(std::string_view user, std::string_view password,
                   Argon2Params params = default_argon2_params());
  // Adds or replaces an entry with a given hash.
  util::Status set_hash(std::string_view user, PasswordHash hash);
  // Removes `user`; false if it was not there.
  bool remove(std::string_view user);

  // The file's text: comments and blank lines as read, one "user:hash" line per entry.
  std::string serialize() const;
  // Writes serialize() to `path` atomically: a temporary file in the same directory (mode 0600),
  // fsync, rename over `path`, fsync of the directory. The result has mode 0600.
  util::Status save(const std::string& path) const;

 private:
  struct Line {
    std::string text;  // comment or blank line, verbatim (entries: unused)
    std::optional<std::string> user;
    PasswordHash hash;
  };
  void rebuild_index();

  std::vector<Line> lines_;
  std::unordered_map<std::string, size_t> index_;  // user -> position in lines_
};

}  // namespace imet::mqtt::auth
