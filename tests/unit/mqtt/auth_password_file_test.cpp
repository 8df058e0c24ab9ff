// Tests of mosquitto-format password files: entries written by the real mosquitto_passwd verify
// (a committed fixture, and freshly generated ones when mosquitto_passwd is installed), Argon2id
// entries written by IMET verify, every rejection names the file and line, hostile cost
// parameters are refused before any hashing, and saving is atomic with mode 0600.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mqtt/auth/password_file.h"
#include "util/fs.h"

namespace imet::mqtt::auth {
namespace {

namespace fs = std::filesystem;

const std::string kFixture =
    std::string(IMET_SOURCE_DIR) + "/tests/unit/mqtt/auth_data/mosquitto_passwd.txt";

util::ByteSpan pw(std::string_view s) {
  return util::as_bytes(s);
}

// Cheap Argon2id parameters for tests (the production default costs ~64 MiB per hash).
constexpr Argon2Params kFastArgon2{1, 8 << 10};

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "imet-auth-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

std::string expect_parse_error(std::string_view text) {
  auto r = PasswordFile::parse(text, "pw.txt");
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.status().message();
}

TEST(MqttPasswordFile, VerifiesEntriesWrittenByMosquittoPasswd) {
  auto file = PasswordFile::load(kFixture);
  ASSERT_TRUE(file.ok()) << file.status().message();
  ASSERT_EQ(file->size(), 3u);
  EXPECT_EQ(file->users(), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(file->find("alice")->scheme, HashScheme::kPbkdf2Sha512);
  EXPECT_EQ(file->find("alice")->iterations, 101u);
  EXPECT_EQ(file->find("bob")->scheme, HashScheme::kSha512);
  EXPECT_EQ(file->find("alice")->salt.size(), 12u);

  EXPECT_EQ(file->check("alice", pw("correct horse")), PasswordFile::Check::kOk);
  EXPECT_EQ(file->check("bob", pw("s3cret:with:colons")), PasswordFile::Check::kOk);
  EXPECT_EQ(file->check("carol", pw("ünïcode pässwörd")), PasswordFile::Check::kOk);

  EXPECT_EQ(file->check("alice", pw("correct horse ")), PasswordFile::Check::kWrongPassword);
  EXPECT_EQ(file->check("alice", pw("Correct horse")), PasswordFile::Check::kWrongPassword);
  EXPECT_EQ(file->check("bob", pw("s3cret")), PasswordFile::Check::kWrongPassword);
  EXPECT_EQ(file->check("alice", pw("")), PasswordFile::Check::kWrongPassword);
  EXPECT_EQ(file->check("dave", pw("correct horse")), PasswordFile::Check::kUnknownUser);
  EXPECT_EQ(file->check("Alice", pw("correct horse")), PasswordFile::Check::kUnknownUser);
}

TEST(MqttPasswordFile, UnchangedEntriesAreWrittenBackByteForByte) {
  auto text = util::read_file(kFixture);
  ASSERT_TRUE(text.ok());
  auto file = PasswordFile::parse(*text, "fixture");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->serialize(), *text);
  ASSERT_TRUE(file->set("dave", "new one", kFastArgon2).ok());
  std::string out = file->serialize();
  EXPECT_TRUE(out.starts_with(*text)) << out;  // new users go at the end
  EXPECT_NE(out.find("dave:$argon2id$v=19$m=8,t=1,p=1$"), std::string::npos) << out;
}

// Runs the real mosquitto_passwd when it is installed (Debian: package mosquitto).
TEST(MqttPasswordFile, VerifiesFreshMosquittoPasswdOutput) {
  const char* tool = "/usr/bin/mosquitto_passwd";
  if (::access(tool, X_OK) != 0) GTEST_SKIP() << "mosquitto_passwd is not installed";
  TempDir dir;
  std::string path = dir.file("pw");
  std::string cmd = std::string(tool) + " -c -b '" + path + "' u7 'pbkdf2 pass' && " + tool +
                    " -H sha512 -b '" + path + "' u6 'sha pass' >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto file = PasswordFile::load(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->find("u7")->scheme, HashScheme::kPbkdf2Sha512);
  EXPECT_EQ(file->find("u6")->scheme, HashScheme::kSha512);
  EXPECT_EQ(file->check("u7", pw("pbkdf2 pass")), PasswordFile::Check::kOk);
  EXPECT_EQ(file->check("u6", pw("sha pass")), PasswordFile::Check::kOk);
  EXPECT_EQ(file->check("u7", pw("sha pass")), PasswordFile::Check::kWrongPassword);
  EXPECT_EQ(file->check("u6", pw("pbkdf2 pass")), PasswordFile::Check::kWrongPassword);
}

TEST(MqttPasswordFile, MosquittoHashesComputedHereMatchTheFixtureFormat) {
  // Recompute alice's entry from its salt: the same PBKDF2 parameters give the same digest.
  auto file = PasswordFile::load(kFixture);
  ASSERT_TRUE(file.ok());
  const PasswordHash* alice = file->find("alice");
  PasswordHash again =
      hash_password_mosquitto(HashScheme::kPbkdf2Sha512, "correct horse", alice->salt, 101);
  EXPECT_EQ(again.encoded, alice->encoded);
  const PasswordHash* bob = file->find("bob");
  EXPECT_EQ(hash_password_mosquitto(HashScheme::kSha512, "s3cret:with:colons", bob->salt).encoded,
            bob->encoded);
}

TEST(MqttPasswordFile, Argon2idEntriesVerify) {
  auto h = hash_password_argon2id("hunter2", kFastArgon2);
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->scheme, HashScheme::kArgon2id);
  EXPECT_TRUE(h->encoded.starts_with("$argon2id$v=19$m=8,t=1,p=1$")) << h->encoded;
  EXPECT_TRUE(verify_password(*h, pw("hunter2")));
  EXPECT_FALSE(verify_password(*h, pw("hunter3")));
  // Parsing the encoded form gives the same hash back.
  auto parsed = parse_password_hash(h->encoded);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->memory_kib, 8u);
  EXPECT_EQ(parsed->passes, 1u);
  EXPECT_EQ(parsed->lanes, 1u);
  EXPECT_TRUE(verify_password(*parsed, pw("hunter2")));
  // Two hashes of one password differ (random salt).
  auto h2 = hash_password_argon2id("hunter2", kFastArgon2);
  ASSERT_TRUE(h2.ok());
  EXPECT_NE(h->encoded, h2->encoded);
}

TEST(MqttPasswordFile, DefaultArgon2ParamsAreInteractive) {
  Argon2Params p = default_argon2_params();
  EXPECT_EQ(p.opslimit, 2u);
  EXPECT_EQ(p.memlimit_bytes, 64u << 20);
  auto h = hash_password_argon2id("pw", p);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->encoded.starts_with("$argon2id$v=19$m=65536,t=2,p=1$")) << h->encoded;
  EXPECT_TRUE(verify_password(*h, pw("pw")));
}

TEST(MqttPasswordFile, CommentsBlankLinesAndWhitespace) {
  auto bob = hash_password_mosquitto(HashScheme::kSha512, "pw", pw("saltsaltsalt"));
  std::string text = "# users\n\n   \n  # indented comment\r\n  bob  :  " + bob.encoded + "  \r\n";
  auto file = PasswordFile::parse(text, "pw.txt");
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->size(), 1u);
  EXPECT_EQ(file->check("bob", pw("pw")), PasswordFile::Check::kOk);
  // Comments and blank lines survive; the entry is normalized.
  EXPECT_EQ(file->serialize(), "# users\n\n   \n  # indented comment\nbob:" + bob.encoded + "\n");
  // A last line without '\n' is still read.
  auto no_newline = PasswordFile::parse("bob:" + bob.encoded, "pw.txt");
  ASSERT_TRUE(no_newline.ok());
  EXPECT_TRUE(no_newline->contains("bob"));
  // Serializing is a fixed point, also for comments ending in several '\r'.
  auto crs = PasswordFile::parse("# c\r\r\r\nbob:" + bob.encoded + "\r\n", "pw.txt");
  ASSERT_TRUE(crs.ok());
  EXPECT_EQ(crs->serialize(), "# c\nbob:" + bob.encoded + "\n");
  EXPECT_EQ(PasswordFile::parse(crs->serialize(), "again")->serialize(), crs->serialize());
  auto empty = PasswordFile::parse("", "pw.txt");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
}

TEST(MqttPasswordFile, LineErrorsNameFileAndLine) {
  auto good = hash_password_mosquitto(HashScheme::kSha512, "pw", pw("saltsaltsalt")).encoded;
  EXPECT_EQ(expect_parse_error("# c\nbob\n"), "pw.txt:2: expected 'username:hash' (no ':')");
  EXPECT_EQ(expect_parse_error(":" + good + "\n"), "pw.txt:1: empty username");
  EXPECT_EQ(expect_parse_error("bob:\n"), "pw.txt:1: user 'bob': empty password hash");
  EXPECT_EQ(expect_parse_error("b\x01ob:" + good + "\n"),
            "pw.txt:1: the username contains a control character");
  EXPECT_EQ(expect_parse_error("bob:" + good + "\n\nbob:" + good + "\n"),
            "pw.txt:3: duplicate user 'bob' (first on line 1)");
  EXPECT_EQ(expect_parse_error("bob:plaintext\n"),
            "pw.txt:1: user 'bob': unsupported password hash (no '$' scheme tag: a plaintext "
            "password?) (expected $6$, $7$ or $argon2id$; hash plaintext passwords with `imet mqtt "
            "passwd`)");
  EXPECT_EQ(expect_parse_error("bob:$1$abc$def\n"),
            "pw.txt:1: user 'bob': unsupported password hash '$1$' (expected $6$, $7$ or "
            "$argon2id$; hash plaintext passwords with `imet mqtt passwd`)");
  EXPECT_EQ(
      expect_parse_error("bob:$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\n"),
      "pw.txt:1: user 'bob': unsupported Argon2 variant '$argon2i$' (only $argon2id$)");
}

TEST(MqttPasswordFile, MosquittoHashRejections) {
  auto msg = [](std::string_view hash) {
    auto r = parse_password_hash(hash);
    EXPECT_FALSE(r.ok()) << hash;
    return r.ok() ? "" : r.status().message();
  };
  std::string salt = "c2FsdHNhbHRzYWx0";  // "saltsaltsalt"
  std::string digest(86, 'A');
  digest += "==";  // 64 zero bytes
  EXPECT_EQ(msg("$6$" + salt), "malformed hash: expected $6$<base64 salt>$<base64 hash>");
  EXPECT_EQ(msg("$6$" + salt + "$" + digest + "$x"),
            "malformed hash: expected $6$<base64 salt>$<base64 hash>");
  EXPECT_EQ(msg("$7$101$" + salt),
            "malformed hash: expected $7$<iterations>$<base64 salt>$<base64 hash>");
  EXPECT_EQ(msg("$7$x1$" + salt + "$" + digest),
            "malformed hash: the iteration count is not a number");
  EXPECT_EQ(msg("$7$-1$" + salt + "$" + digest),
            "malformed hash: the iteration count is not a number");
  EXPECT_EQ(msg("$7$0$" + salt + "$" + digest), "PBKDF2 iteration count 0 is outside 1..1000000");
  // A hostile iteration count is refused at parse time, before any hashing.
  EXPECT_EQ(msg("$7$4294967295$" + salt + "$" + digest),
            "PBKDF2 iteration count 4294967295 is outside 1..1000000");
  EXPECT_EQ(msg("$7$99999999999$" + salt + "$" + digest),
            "malformed hash: the iteration count is not a number");
  EXPECT_EQ(msg("$6$sa!t$" + digest), "malformed hash: the salt is not valid base64");
  EXPECT_EQ(msg("$6$$" + digest), "the salt must be 1 to 64 bytes, got 0");
  EXPECT_EQ(msg("$6$" + salt + "$AAAA"), "the hash must be 64 bytes (SHA-512), got 3");
  EXPECT_EQ(msg("$6$" + salt + "$A===="), "malformed hash: the hash is not valid base64");
  std::string high_bit = "c2FsdHNhbHRzYWx" + std::string("\xe2");
  EXPECT_EQ(msg("$6$" + high_bit + "$" + digest), "malformed hash: the salt is not valid base64");
  EXPECT_EQ(msg("$6$" + salt + "$" + digest.substr(0, 40) + "-" + digest.substr(41)),
            "malformed hash: the hash is not valid base64");  // base64url character
  // Accepted: the same with and without padding.
  EXPECT_TRUE(parse_password_hash("$6$" + salt + "$" + digest).ok());
  EXPECT_TRUE(parse_password_hash("$6$" + salt + "$" + std::string(86, 'A')).ok());
}

TEST(MqttPasswordFile, Argon2Rejections) {
  auto msg = [](std::string_view hash) {
    auto r = parse_password_hash(hash);
    EXPECT_FALSE(r.ok()) << hash;
    return r.ok() ? "" : r.status().message();
  };
  std::string tail = "$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";  // 8-byte salt, 16-byte hash
  std::string shape =
      "malformed Argon2id hash: expected $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<base64 "
      "salt>$<base64 hash>";
  EXPECT_TRUE(parse_password_hash("$argon2id$v=19$m=8,t=1,p=1" + tail).ok());
  EXPECT_EQ(msg("$argon2id$v=16$m=8,t=1,p=1" + tail),
            "Argon2 version 'v=16' is not supported (only v=19)");
  EXPECT_EQ(msg("$argon2id$m=8,t=1,p=1" + tail), shape);
  EXPECT_EQ(msg("$argon2id$v=19$t=1,m=8,p=1" + tail), shape);
  EXPECT_EQ(msg("$argon2id$v=19$m=8,t=1" + tail), shape);
  EXPECT_EQ(msg("$argon2id$v=19$m=8,t=1,p=1,x=2" + tail), shape);
  EXPECT_EQ(msg("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ"), shape);
  // Hostile costs: refused before libsodium would allocate or compute.
  EXPECT_EQ(msg("$argon2id$v=19$m=4194304,t=1,p=1" + tail),
            "Argon2id memory m=4194304 KiB exceeds the limit of 262144 KiB");
  EXPECT_EQ(msg("$argon2id$v=19$m=999999999999,t=1,p=1" + tail),
            "Argon2id memory m=999999999999 KiB exceeds the limit of 262144 KiB");
  EXPECT_EQ(msg("$argon2id$v=19$m=8,t=4000000000,p=1" + tail),
            "Argon2id passes t=4000000000 is outside 1..10");
  EXPECT_EQ(msg("$argon2id$v=19$m=8,t=0,p=1" + tail), "Argon2id passes t=0 is outside 1..10");
  EXPECT_EQ(msg("$argon2id$v=19$m=1024,t=1,p=64" + tail), "Argon2id lanes p=64 is outside 1..16");
  EXPECT_EQ(msg("$argon2id$v=19$m=8,t=1,p=2" + tail),
            "Argon2id memory m=8 KiB is below the minimum of 8 KiB per lane");
  EXPECT_EQ(msg("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA"),
            "Argon2id salt must be 8 to 64 bytes, got 4");
  EXPECT_EQ(msg("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"),
            "Argon2id hash must be 16 to 64 bytes, got 4");
  EXPECT_EQ(msg("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA"),
            "malformed Argon2id hash: salt or hash is not unpadded base64");
}

TEST(MqttPasswordFile, SetRemoveAndUsernameRules) {
  PasswordFile file;
  ASSERT_TRUE(file.set("alice", "one", kFastArgon2).ok());
  ASSERT_TRUE(file.set("bob", "two", kFastArgon2).ok());
  EXPECT_EQ(file.check("alice", pw("one")), PasswordFile::Check::kOk);
  ASSERT_TRUE(file.set("alice", "three", kFastArgon2).ok());  // update keeps the position
  EXPECT_EQ(file.users(), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(file.check("alice", pw("one")), PasswordFile::Check::kWrongPassword);
  EXPECT_EQ(file.check("alice", pw("three")), PasswordFile::Check::kOk);
  EXPECT_TRUE(file.remove("alice"));
  EXPECT_FALSE(file.remove("alice"));
  EXPECT_EQ(file.check("alice", pw("three")), PasswordFile::Check::kUnknownUser);
  EXPECT_EQ(file.check("bob", pw("two")), PasswordFile::Check::kOk);

  auto err = [&](std::string_view user, std::string_view password = "x") {
    util::Status st = file.set(user, password, kFastArgon2);
    EXPECT_FALSE(st.ok()) << user;
    return st.message();
  };
  EXPECT_EQ(err(""), "empty username");
  EXPECT_EQ(err("a:b"), "username 'a:b' contains ':' (the password file's separator)");
  EXPECT_EQ(err("a\nb"), "username contains a control character");
  EXPECT_EQ(err(" a"), "username ' a' starts or ends with a blank");
  EXPECT_EQ(err("#a"), "username '#a' starts with '#' (the line would read as a comment)");
  EXPECT_EQ(err("\xff\xfe"), "username is not valid UTF-8");
  EXPECT_EQ(err(std::string(65536, 'u')), "username longer than 65535 bytes");
  EXPECT_EQ(err("carol", ""), "empty password");
  EXPECT_EQ(err("carol", std::string(65536, 'p')), "password longer than 65535 bytes");
  EXPECT_FALSE(file.contains("carol"));
  // What set() accepts, the parser reads back.
  ASSERT_TRUE(file.set("ünï code", "pw", kFastArgon2).ok());
  auto again = PasswordFile::parse(file.serialize(), "x");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->check("ünï code", pw("pw")), PasswordFile::Check::kOk);
}

TEST(MqttPasswordFile, OverlongPasswordNeverVerifies) {
  auto h = hash_password_mosquitto(HashScheme::kSha512, std::string(65536, 'p'), pw("s"));
  EXPECT_FALSE(verify_password(h, pw(std::string(65536, 'p'))));
}

TEST(MqttPasswordFile, SaveIsAtomicWithMode0600) {
  TempDir dir;
  std::string path = dir.file("passwd");
  {
    std::ofstream old(path);
    old << "old contents\n";
  }
  ::chmod(path.c_str(), 0644);
  PasswordFile file;
  ASSERT_TRUE(file.set("alice", "pw", kFastArgon2).ok());
  ASSERT_TRUE(file.save(path).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = PasswordFile::load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->check("alice", pw("pw")), PasswordFile::Check::kOk);
  // No temporary file is left behind.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.file("")))
    ++entries;
  EXPECT_EQ(entries, 1u);
  // Saving into a directory that does not exist fails cleanly and names the file.
  util::Status st2 = file.save(dir.file("missing/passwd"));
  EXPECT_FALSE(st2.ok());
  EXPECT_NE(st2.message().find("missing/passwd"), std::string::npos) << st2.message();
}

TEST(MqttPasswordFile, LoadErrorsNameTheFile) {
  auto r = PasswordFile::load("/nonexistent/imet/passwd");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "cannot read the MQTT password file: '/nonexistent/imet/passwd' does not exist");
}

}  // namespace
}  // namespace imet::mqtt::auth
