// KeyStore: a directory of named key files (`<dir>/<name>.key`, JSON, see key_file.h), as used by
// `imet keys …`. The directory is created with mode 0700 and files with mode 0600.
// Thread-safety: no internal state beyond the path; concurrent processes are safe because a key
// is added by an atomic no-overwrite link (util::write_file_new).
// Invariants: names match [A-Za-z0-9][A-Za-z0-9._-]{0,63}; an existing key is never overwritten.
#pragma once

#include <string>
#include <vector>

#include "wallet/key_file.h"

namespace imet::wallet {

struct KeyEntry {
  std::string name;
  std::string address;
  bool encrypted = true;
};

class KeyStore {
 public:
  // Opens the directory, creating it when `create` is true.
  static util::Result<KeyStore> open(const std::string& dir, bool create);
  // Default key directory: $IMET_HOME/keys, else $HOME/.imet/keys.
  static std::string default_dir();

  static util::Status validate_name(std::string_view name);

  const std::string& dir() const { return dir_; }
  std::string path_of(std::string_view name) const;

  // All keys, sorted by name. Unreadable files are reported as errors, not skipped.
  util::Result<std::vector<KeyEntry>> list() const;
  util::Result<KeyFile> read(std::string_view name) const;
  util::Status add(std::string_view name, const KeyFile& file);

 private:
  explicit KeyStore(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace imet::wallet
