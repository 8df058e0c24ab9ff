// Reading fields of the node's JSON answers in the wallet's commands. Wallet-internal header.
// Thread-safety: pure functions.
// Invariants: never throws on a missing field or a field of another type (answers "").
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace imet::wallet {

// j[key] if j is an object whose `key` is a string, else "".
inline std::string json_text(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                                : std::string();
}

}  // namespace imet::wallet
