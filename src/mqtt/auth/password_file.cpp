#include "mqtt/auth/password_file.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/sodium.h"
#include "mqtt/auth/encoding.h"
#include "mqtt/codec/wire.h"
#include "util/fs.h"

namespace imet::mqtt::auth {

namespace {

constexpr size_t kDigestBytes = 64;  // SHA-512
constexpr size_t kMaxSaltBytes = 64;
constexpr std::string_view kArgon2idPrefix = "$argon2id$";

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

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// A decimal number of at most `max_digits` digits and no sign.
std::optional<uint64_t> parse_decimal(std::string_view s, size_t max_digits = 19) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// What to show of an unknown hash in an error: the scheme tag only, never the whole secret-ish
// value.
std::string scheme_tag(std::string_view text) {
  if (text.empty() || text[0] != '$') return "(no '$' scheme tag: a plaintext password?)";
  size_t end = text.find('$', 1);
  std::string tag(text.substr(0, end == std::string_view::npos ? text.size() : end + 1));
  if (tag.size() > 16) tag = tag.substr(0, 16) + "...";
  return "'" + tag + "'";
}

util::Result<PasswordHash> parse_mosquitto_hash(std::string_view text, HashScheme scheme) {
  // "$6$salt$hash" -> "", "6", salt, hash; "$7$iter$salt$hash" -> "", "7", iter, salt, hash.
  auto parts = detail::split(text, '$');
  bool pbkdf2 = scheme == HashScheme::kPbkdf2Sha512;
  size_t want = pbkdf2 ? 5 : 4;
  std::string shape =
      pbkdf2 ? "$7$<iterations>$<base64 salt>$<base64 hash>" : "$6$<base64 salt>$<base64 hash>";
  if (parts.size() != want) return util::invalid_argument("malformed hash: expected " + shape);
  PasswordHash h;
  h.scheme = scheme;
  h.encoded = std::string(text);
  size_t i = 2;
  if (pbkdf2) {
    auto iterations = parse_decimal(parts[i++], 10);
    if (!iterations) {
      return util::invalid_argument("malformed hash: the iteration count is not a number");
    }
    if (*iterations < 1 || *iterations > kMaxPbkdf2Iterations) {
      return util::invalid_argument("PBKDF2 iteration count " + std::to_string(*iterations) +
                                    " is outside 1.." + std::to_string(kMaxPbkdf2Iterations));
    }
    h.iterations = static_cast<uint32_t>(*iterations);
  }
  auto salt = detail::decode_base64(parts[i++]);
  if (!salt) return util::invalid_argument("malformed hash: the salt is not valid base64");
  if (salt->empty() || salt->size() > kMaxSaltBytes) {
    return util::invalid_argument("the salt must be 1 to 64 bytes, got " +
                                  std::to_string(salt->size()));
  }
  auto digest = detail::decode_base64(parts[i]);
  if (!digest) return util::invalid_argument("malformed hash: the hash is not valid base64");
  if (digest->size() != kDigestBytes) {
    return util::invalid_argument("the hash must be 64 bytes (SHA-512), got " +
                                  std::to_string(digest->size()));
  }
  h.salt = std::move(*salt);
  h.digest = std::move(*digest);
  return h;
}

// "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>" (libsodium crypto_pwhash_str).
util::Result<PasswordHash> parse_argon2id(std::string_view text) {
  const std::string shape =
      "malformed Argon2id hash: expected $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<base64 "
      "salt>$<base64 hash>";
  auto parts = detail::split(text, '$');  // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
  if (parts.size() != 6 || !parts[2].starts_with("v=")) return util::invalid_argument(shape);
  if (parts[2] != "v=19") {
    return util::invalid_argument("Argon2 version '" + std::string(parts[2].substr(0, 12)) +
                                  "' is not supported (only v=19)");
  }
  std::string_view params = parts[3];
  uint64_t values[3] = {0, 0, 0};
  const char* names[3] = {"m=", "t=", "p="};
  for (int k = 0; k < 3; ++k) {
    if (!params.starts_with(names[k])) return util::invalid_argument(shape);
    params.remove_prefix(2);
    size_t end = params.find(',');
    std::string_view number = params.substr(0, end);
    auto v = parse_decimal(number, 12);
    if (!v) return util::invalid_argument(shape);
    values[k] = *v;
    if (k < 2) {
      if (end == std::string_view::npos) return util::invalid_argument(shape);
      params.remove_prefix(end + 1);
    } else if (end != std::string_view::npos) {
      return util::invalid_argument(shape);
    }
  }
  PasswordHash h;
  h.scheme = HashScheme::kArgon2id;
  h.encoded = std::string(text);
  h.memory_kib = values[0];
  if (values[0] > kMaxArgon2MemoryKib) {
    return util::invalid_argument("Argon2id memory m=" + std::to_string(values[0]) +
                                  " KiB exceeds the limit of " +
                                  std::to_string(kMaxArgon2MemoryKib) + " KiB");
  }
  if (values[1] < 1 || values[1] > kMaxArgon2Passes) {
    return util::invalid_argument("Argon2id passes t=" + std::to_string(values[1]) +
                                  " is outside 1.." + std::to_string(kMaxArgon2Passes));
  }
  if (values[2] < 1 || values[2] > kMaxArgon2Lanes) {
    return util::invalid_argument("Argon2id lanes p=" + std::to_string(values[2]) +
                                  " is outside 1.." + std::to_string(kMaxArgon2Lanes));
  }
  if (values[0] < 8 * values[2]) {
    return util::invalid_argument("Argon2id memory m=" + std::to_string(values[0]) +
                                  " KiB is below the minimum of 8 KiB per lane");
  }
  h.passes = static_cast<uint32_t>(values[1]);
  h.lanes = static_cast<uint32_t>(values[2]);
  auto salt = detail::decode_base64(parts[4]);
  auto digest = detail::decode_base64(parts[5]);
  if (!salt || !digest || parts[4].find('=') != std::string_view::npos ||
      parts[5].find('=') != std::string_view::npos) {
    return util::invalid_argument("malformed Argon2id hash: salt or hash is not unpadded base64");
  }
  if (salt->size() < 8 || salt->size() > kMaxSaltBytes) {
    return util::invalid_argument("Argon2id salt must be 8 to 64 bytes, got " +
                                  std::to_string(salt->size()));
  }
  if (digest->size() < 16 || digest->size() > kDigestBytes) {
    return util::invalid_argument("Argon2id hash must be 16 to 64 bytes, got " +
                                  std::to_string(digest->size()));
  }
  return h;
}

util::Bytes sha512_digest(util::ByteSpan password, util::ByteSpan salt) {
  crypto_hash_sha512_state st;
  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, password.data(), password.size());
  crypto_hash_sha512_update(&st, salt.data(), salt.size());
  util::Bytes out(kDigestBytes);
  crypto_hash_sha512_final(&st, out.data());
  return out;
}

std::optional<util::Bytes> pbkdf2_digest(util::ByteSpan password, util::ByteSpan salt,
                                         uint32_t iterations) {
  util::Bytes out(kDigestBytes);
  // OpenSSL's API takes char* and int lengths; both are bounded far below INT_MAX here.
  int ok = PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(password.data()),
                             static_cast<int>(password.size()), salt.data(),
                             static_cast<int>(salt.size()), static_cast<int>(iterations),
                             EVP_sha512(), static_cast<int>(out.size()), out.data());
  if (ok != 1) return std::nullopt;
  return out;
}

std::string errno_text(int err) {
  return std::strerror(err);
}

}  // namespace

Argon2Params default_argon2_params() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

std::string_view hash_scheme_name(HashScheme scheme) {
  switch (scheme) {
    case HashScheme::kSha512:
      return "sha512";
    case HashScheme::kPbkdf2Sha512:
      return "sha512-pbkdf2";
    case HashScheme::kArgon2id:
      return "argon2id";
  }
  return "unknown";
}

util::Result<PasswordHash> parse_password_hash(std::string_view text) {
  if (text.empty()) return util::invalid_argument("empty password hash");
  if (text.starts_with("$6$")) return parse_mosquitto_hash(text, HashScheme::kSha512);
  if (text.starts_with("$7$")) return parse_mosquitto_hash(text, HashScheme::kPbkdf2Sha512);
  if (text.starts_with(kArgon2idPrefix)) return parse_argon2id(text);
  if (text.starts_with("$argon2")) {
    return util::invalid_argument("unsupported Argon2 variant " + scheme_tag(text) +
                                  " (only $argon2id$)");
  }
  return util::invalid_argument("unsupported password hash " + scheme_tag(text) +
                                " (expected $6$, $7$ or $argon2id$; hash plaintext passwords "
                                "with `imet mqtt passwd`)");
}

bool verify_password(const PasswordHash& hash, util::ByteSpan password) {
  if (password.size() > kMaxPasswordBytes) return false;
  crypto::ensure_init();
  switch (hash.scheme) {
    case HashScheme::kSha512: {
      util::Bytes d = sha512_digest(password, hash.salt);
      return util::equal_ct(d, hash.digest);
    }
    case HashScheme::kPbkdf2Sha512: {
      if (hash.iterations < 1 || hash.iterations > kMaxPbkdf2Iterations) return false;
      auto d = pbkdf2_digest(password, hash.salt, hash.iterations);
      return d && util::equal_ct(*d, hash.digest);
    }
    case HashScheme::kArgon2id:
      if (hash.memory_kib > kMaxArgon2MemoryKib || hash.passes > kMaxArgon2Passes) return false;
      return crypto_pwhash_str_verify(hash.encoded.c_str(),
                                      reinterpret_cast<const char*>(password.data()),
                                      password.size()) == 0;
  }
  return false;
}

util::Result<PasswordHash> hash_password_argon2id(std::string_view password, Argon2Params params) {
  if (password.empty()) return util::invalid_argument("empty password");
  if (password.size() > kMaxPasswordBytes) {
    return util::invalid_argument("password longer than " + std::to_string(kMaxPasswordBytes) +
                                  " bytes");
  }
  if (params.opslimit < 1 || params.opslimit > kMaxArgon2Passes ||
      params.memlimit_bytes < (8u << 10) || params.memlimit_bytes > (kMaxArgon2MemoryKib << 10)) {
    return util::invalid_argument("Argon2id parameters out of range");
  }
  crypto::ensure_init();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params.opslimit,
                            static_cast<size_t>(params.memlimit_bytes),
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return util::unavailable("Argon2id could not allocate " +
                             std::to_string(params.memlimit_bytes >> 20) + " MiB");
  }
  return parse_argon2id(out);
}

PasswordHash hash_password_mosquitto(HashScheme scheme, std::string_view password,
                                     util::ByteSpan salt, uint32_t iterations) {
  PasswordHash h;
  h.scheme = scheme;
  h.salt.assign(salt.begin(), salt.end());
  if (scheme == HashScheme::kPbkdf2Sha512) {
    h.iterations = iterations;
    h.digest = pbkdf2_digest(util::as_bytes(password), salt, iterations).value_or(util::Bytes{});
    h.encoded = "$7$" + std::to_string(iterations) + "$";
  } else {
    h.scheme = HashScheme::kSha512;
    h.digest = sha512_digest(util::as_bytes(password), salt);
    h.encoded = "$6$";
  }
  h.encoded += detail::encode_base64(h.salt) + "$" + detail::encode_base64(h.digest);
  return h;
}

util::Status validate_username(std::string_view username) {
  if (username.empty()) return util::invalid_argument("empty username");
  if (username.size() > kMaxUsernameBytes) {
    return util::invalid_argument("username longer than " + std::to_string(kMaxUsernameBytes) +
                                  " bytes");
  }
  if (username.find(':') != std::string_view::npos) {
    return util::invalid_argument("username '" + std::string(username) +
                                  "' contains ':' (the password file's separator)");
  }
  if (has_control_char(username)) {
    return util::invalid_argument("username contains a control character");
  }
  if (username.front() == '#') {
    return util::invalid_argument("username '" + std::string(username) +
                                  "' starts with '#' (the line would read as a comment)");
  }
  if (trim(username) != username) {
    return util::invalid_argument("username '" + std::string(username) +
                                  "' starts or ends with a blank");
  }
  if (check_mqtt_utf8(username) != Utf8Error::kNone) {
    return util::invalid_argument("username is not valid UTF-8");
  }
  return {};
}

util::Result<PasswordFile> PasswordFile::load(const std::string& path) {
  auto text = util::read_file(path, kMaxPasswordFileBytes);
  if (!text.ok()) return text.status().with_context("cannot read the MQTT password file");
  return parse(*text, path);
}

util::Result<PasswordFile> PasswordFile::parse(std::string_view text, std::string_view source) {
  PasswordFile file;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view raw =
        text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    ++line_no;
    // CRLF files: drop every trailing '\r', so a kept comment line reads back the same after
    // save (found by fuzz/mqtt_auth_fuzz.cpp: "# c\r\r" lost one '\r' per load/save cycle).
    while (!raw.empty() && raw.back() == '\r')
      raw.remove_suffix(1);
    auto fail = [&](const std::string& what) {
      return util::invalid_argument(std::string(source) + ":" + std::to_string(line_no) + ": " +
                                    what);
    };
    std::string_view content = trim(raw);
    if (content.empty() || content.front() == '#') {
      file.lines_.push_back(Line{std::string(raw), std::nullopt, {}});
      continue;
    }
    size_t colon = content.find(':');
    if (colon == std::string_view::npos) return fail("expected 'username:hash' (no ':')");
    std::string_view user = trim(content.substr(0, colon));
    std::string_view hash_text = trim(content.substr(colon + 1));
    if (user.empty()) return fail("empty username");
    if (user.size() > kMaxUsernameBytes) return fail("username too long");
    if (has_control_char(user)) return fail("the username contains a control character");
    if (auto it = file.index_.find(std::string(user)); it != file.index_.end()) {
      // Every physical line is one element of lines_, so the index is the line number - 1.
      return fail("duplicate user '" + std::string(user) + "' (first on line " +
                  std::to_string(it->second + 1) + ")");
    }
    auto hash = parse_password_hash(hash_text);
    if (!hash.ok()) return fail("user '" + std::string(user) + "': " + hash.status().message());
    file.index_.emplace(std::string(user), file.lines_.size());
    file.lines_.push_back(Line{{}, std::string(user), std::move(hash).value()});
  }
  return file;
}

const PasswordHash* PasswordFile::find(std::string_view user) const {
  auto it = index_.find(std::string(user));
  return it == index_.end() ? nullptr : &lines_[it->second].hash;
}

std::vector<std::string> PasswordFile::users() const {
  std::vector<std::string> out;
  for (const Line& l : lines_) {
    if (l.user) out.push_back(*l.user);
  }
  return out;
}

PasswordFile::Check PasswordFile::check(std::string_view user, util::ByteSpan password) const {
  const PasswordHash* h = find(user);
  if (h == nullptr) return Check::kUnknownUser;
  return verify_password(*h, password) ? Check::kOk : Check::kWrongPassword;
}

util::Status PasswordFile::set(std::string_view user, std::string_view password,
                               Argon2Params params) {
  IMET_TRY(validate_username(user));
  IMET_ASSIGN_OR_RETURN(PasswordHash h, hash_password_argon2id(password, params));
  return set_hash(user, std::move(h));
}

util::Status PasswordFile::set_hash(std::string_view user, PasswordHash hash) {
  IMET_TRY(validate_username(user));
  if (auto it = index_.find(std::string(user)); it != index_.end()) {
    lines_[it->second].hash = std::move(hash);
    return {};
  }
  index_.emplace(std::string(user), lines_.size());
  lines_.push_back(Line{{}, std::string(user), std::move(hash)});
  return {};
}

bool PasswordFile::remove(std::string_view user) {
  auto it = index_.find(std::string(user));
  if (it == index_.end()) return false;
  lines_.erase(lines_.begin() + static_cast<std::ptrdiff_t>(it->second));
  rebuild_index();
  return true;
}

void PasswordFile::rebuild_index() {
  index_.clear();
  for (size_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i].user) index_.emplace(*lines_[i].user, i);
  }
}

std::string PasswordFile::serialize() const {
  std::string out;
  for (const Line& l : lines_) {
    if (l.user) {
      out += *l.user;
      out += ':';
      out += l.hash.encoded;
    } else {
      out += l.text;
    }
    out += '\n';
  }
  return out;
}

util::Status PasswordFile::save(const std::string& path) const {
  std::string text = serialize();
  std::filesystem::path p(path);
  std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  std::string tmp = path + ".tmpXXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    return util::io_error("cannot create a temporary file next to '" + path +
                          "': " + errno_text(errno));
  }
  auto fail = [&](const std::string& what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return util::io_error("cannot write '" + path + "': " + what + ": " + errno_text(err));
  };
  if (::fchmod(fd, 0600) != 0) return fail("chmod");
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return util::io_error("cannot write '" + path + "': close: " + errno_text(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return util::io_error("cannot replace '" + path + "': " + errno_text(err));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace imet::mqtt::auth
