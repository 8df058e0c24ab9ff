#include "wallet/passphrase.h"

#include <cstdlib>

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include "util/fs.h"

namespace imet::wallet {

namespace {

util::Result<std::string> prompt_tty(const std::string& prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return util::invalid_argument(
        "no passphrase given and no terminal to ask on: use --passphrase-file FILE or set "
        "IMET_PASSPHRASE");
  }
  // Echo off first, then the prompt: input typed as soon as the prompt shows must be neither
  // echoed nor flushed by the mode change.
  termios old{};
  bool have_termios = ::tcgetattr(fd, &old) == 0;
  if (have_termios) {
    termios no_echo = old;
    no_echo.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &no_echo);
  }
  (void)::write(fd, prompt.data(), prompt.size());
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n')
    line.push_back(c);
  if (have_termios) ::tcsetattr(fd, TCSAFLUSH, &old);
  (void)::write(fd, "\n", 1);
  ::close(fd);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

util::Result<std::string> get_passphrase(const PassphraseOptions& opts, const std::string& prompt,
                                         bool confirm) {
  if (!opts.file.empty()) {
    auto text = util::read_file(opts.file, 64 << 10);
    if (!text.ok()) return text.status().with_context("cannot read the passphrase file");
    std::string line = text->substr(0, text->find('\n'));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      return util::invalid_argument("passphrase file '" + opts.file + "' is empty");
    }
    return line;
  }
  if (opts.allow_env) {
    if (const char* env = std::getenv("IMET_PASSPHRASE"); env != nullptr && *env != '\0') {
      return std::string(env);
    }
  }
  IMET_ASSIGN_OR_RETURN(std::string first, prompt_tty(prompt));
  if (first.empty()) return util::invalid_argument("empty passphrase");
  if (confirm) {
    IMET_ASSIGN_OR_RETURN(std::string second, prompt_tty("Repeat passphrase: "));
    if (second != first) return util::invalid_argument("the two passphrases differ");
  }
  return first;
}

}  // namespace imet::wallet
