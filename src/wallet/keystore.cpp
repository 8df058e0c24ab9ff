#include "wallet/keystore.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "util/fs.h"

namespace imet::wallet {

namespace {
constexpr std::string_view kSuffix = ".key";
}

util::Result<KeyStore> KeyStore::open(const std::string& dir, bool create) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    if (!create) return util::not_found("key directory '" + dir + "' does not exist");
    IMET_TRY(util::ensure_dir(dir, 0700));
  } else if (!std::filesystem::is_directory(dir, ec)) {
    return util::failed_precondition("key directory '" + dir + "' is not a directory");
  }
  return KeyStore(dir);
}

std::string KeyStore::default_dir() {
  if (const char* home = std::getenv("IMET_HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/keys";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.imet/keys";
}

util::Status KeyStore::validate_name(std::string_view name) {
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  };
  if (name.empty() || name.size() > 64 || !ok_char(name[0]) || name[0] == '.' || name[0] == '-' ||
      name[0] == '_' || !std::all_of(name.begin(), name.end(), ok_char)) {
    return util::invalid_argument("invalid key name '" + std::string(name) +
                                  "': use 1-64 letters, digits, '.', '_' or '-', starting with a "
                                  "letter or digit");
  }
  return {};
}

std::string KeyStore::path_of(std::string_view name) const {
  return dir_ + "/" + std::string(name) + std::string(kSuffix);
}

util::Result<std::vector<KeyEntry>> KeyStore::list() const {
  std::vector<KeyEntry> out;
  std::error_code ec;
  for (const auto& ent : std::filesystem::directory_iterator(dir_, ec)) {
    std::string file = ent.path().filename().string();
    if (file.size() <= kSuffix.size() || !file.ends_with(kSuffix)) continue;
    std::string name = file.substr(0, file.size() - kSuffix.size());
    if (!validate_name(name).ok()) continue;
    IMET_ASSIGN_OR_RETURN(KeyFile kf, read(name));
    out.push_back({name, kf.address, kf.encrypted()});
  }
  if (ec) return util::io_error("cannot list '" + dir_ + "': " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const KeyEntry& a, const KeyEntry& b) { return a.name < b.name; });
  return out;
}

util::Result<KeyFile> KeyStore::read(std::string_view name) const {
  IMET_TRY(validate_name(name));
  std::string path = path_of(name);
  auto text = util::read_file(path, 1 << 20);
  if (!text.ok()) {
    if (text.status().code() == util::StatusCode::kNotFound) {
      return util::not_found("no key named '" + std::string(name) + "' in '" + dir_ + "'");
    }
    return text.status();
  }
  auto kf = parse_key_file(*text);
  if (!kf.ok()) return kf.status().with_context("key file '" + path + "' is corrupted");
  return kf;
}

util::Status KeyStore::add(std::string_view name, const KeyFile& file) {
  IMET_TRY(validate_name(name));
  util::Status st = util::write_file_new(path_of(name), serialize_key_file(file), 0600);
  if (st.code() == util::StatusCode::kAlreadyExists) {
    return util::already_exists("a key named '" + std::string(name) + "' already exists in '" +
                                dir_ + "'; choose another name");
  }
  return st;
}

}  // namespace imet::wallet
