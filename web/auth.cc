#include "web/auth.h"

#include <crypt.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace warden::web {
namespace {

constexpr size_t kMinTokenSize = 16;

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = getrandom(raw.data() + done, bytes - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // cannot happen on Linux >= 3.17 once the pool is initialised
    done += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char byte : raw) {
    const auto c = static_cast<unsigned char>(byte);
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// The file's text; refused when every user may read or write it (a secret that is not one).
Result<std::string> ReadSecretFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(ErrorCode::kIo, std::string("cannot read the ") + what + " " + path + ": " +
                                      std::strerror(errno));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    return Status(
        ErrorCode::kInvalidArgument,
        path + ": the " + what + " is open to every user on this machine: chmod o-rw " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Auth::Auth() : csrf_(RandomHex(32)) {}

Result<Auth> Auth::Load(const std::string& token_file, const std::string& password_file) {
  std::string token_text;
  std::string password_text;
  if (!token_file.empty()) {
    Result<std::string> text = ReadSecretFile(token_file, "token file");
    if (!text.ok()) return text.status();
    token_text = std::move(*text);
    if (Trim(token_text).empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    token_file + ": the token file is empty (put one token of " +
                        std::to_string(kMinTokenSize) +
                        " characters or more in it, e.g. from `openssl rand -hex 32`)");
    }
  }
  if (!password_file.empty()) {
    Result<std::string> text = ReadSecretFile(password_file, "password file");
    if (!text.ok()) return text.status();
    password_text = std::move(*text);
  }
  Result<Auth> auth = FromText(token_text, password_text, password_file);
  if (!auth.ok() && !token_file.empty() && auth.status().message().starts_with("token")) {
    return Status(auth.status().code(), token_file + ": " + auth.status().message());
  }
  if (auth.ok() && !password_file.empty() && !auth->has_passwords()) {
    return Status(ErrorCode::kInvalidArgument,
                  password_file +
                      ": no 'user:HASH' line (make one with: echo \"alice:$(mkpasswd "
                      "-m yescrypt)\")");
  }
  return auth;
}

Result<Auth> Auth::FromText(std::string_view token_text, std::string_view password_text,
                            const std::string& password_file_name) {
  Auth auth;
  std::string_view token = Trim(token_text);
  if (!token.empty()) {
    if (token.size() < kMinTokenSize || token.find_first_of(" \t\r\n") != std::string_view::npos) {
      return Status(ErrorCode::kInvalidArgument,
                    "token: the token must be one word of " + std::to_string(kMinTokenSize) +
                        " characters or more (e.g. from `openssl rand -hex 32`)");
    }
    auth.token_ = std::string(token);
  }
  size_t line_number = 0;
  while (!password_text.empty()) {
    const size_t end = password_text.find('\n');
    std::string_view line = Trim(password_text.substr(0, end));
    password_text =
        end == std::string_view::npos ? std::string_view() : password_text.substr(end + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    const std::string where = password_file_name + ":" + std::to_string(line_number) + ": ";
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Status(ErrorCode::kInvalidArgument,
                    where + "expected 'user:HASH' (a crypt(3) hash: mkpasswd -m yescrypt)");
    }
    std::string_view hash = line.substr(colon + 1);
    // Only the modern, salted schemes ("$id$..."): DES crypt and plain text are refused.
    if (hash.size() < 4 || hash.front() != '$') {
      return Status(ErrorCode::kInvalidArgument,
                    where +
                        "the password is not a crypt(3) hash of a modern kind ($y$ yescrypt, "
                        "$6$ SHA-512, $2b$ bcrypt): make one with mkpasswd -m yescrypt");
    }
    auth.passwords_[std::string(line.substr(0, colon))] = std::string(hash);
  }
  return auth;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // The length is not secret (every token has one); the bytes are compared without a shortcut.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    diff = static_cast<unsigned char>(
        diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

bool VerifyPassword(const std::string& password, const std::string& hash) {
  // crypt_r's state is 32 KiB: on the heap, one per call (requests run on several threads).
  auto data = std::make_unique<crypt_data>();
  const char* result = crypt_r(password.c_str(), hash.c_str(), data.get());
  // libxcrypt answers a failure with a string starting with '*', never equal to a hash.
  if (result == nullptr || result[0] == '*') return false;
  return ConstantTimeEquals(result, hash);
}

std::string Base64Decode(std::string_view text, bool* ok) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  *ok = false;
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return {};
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xFF));
    }
  }
  *ok = count < 6;
  return out;
}

LoginResult Auth::Check(std::string_view authorization) const {
  if (!enabled()) return {Login::kOpen, ""};
  authorization = Trim(authorization);
  if (!token_.empty() && authorization.starts_with("Bearer ")) {
    if (ConstantTimeEquals(Trim(authorization.substr(7)), token_)) return {Login::kToken, "token"};
    return {};
  }
  if (!passwords_.empty() && authorization.starts_with("Basic ")) {
    bool ok = false;
    const std::string decoded = Base64Decode(Trim(authorization.substr(6)), &ok);
    const size_t colon = decoded.find(':');
    if (!ok || colon == std::string::npos) return {};
    const std::string user = decoded.substr(0, colon);
    auto it = passwords_.find(user);
    // An unknown user costs a hash too, so that timing does not tell which users exist.
    static const std::string kDummy = "$6$warden$" + std::string(86, 'x');
    const bool good =
        VerifyPassword(decoded.substr(colon + 1), it == passwords_.end() ? kDummy : it->second);
    if (good && it != passwords_.end()) return {Login::kPassword, user};
  }
  return {};
}

bool Auth::PostAllowed(const LoginResult& login, std::string_view csrf_header) const {
  if (login.login == Login::kRefused) return false;
  if (login.login == Login::kToken) return true;
  return ConstantTimeEquals(Trim(csrf_header), csrf_);
}

}  // namespace warden::web
