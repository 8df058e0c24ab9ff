#include "mqtt/codec/decode_error.h"

#include <cstdio>

namespace imet::mqtt {

util::Status DecodeError::to_status() const {
  char code[8];
  std::snprintf(code, sizeof code, "0x%02X", static_cast<unsigned>(reason));
  return util::invalid_argument(message + " (reason " + code + " " +
                                std::string(reason_code_name(reason)) + ")");
}

}  // namespace imet::mqtt
