// Who may use warden-web: a bearer token and/or a file of crypt(3)-hashed passwords (HTTP
// Basic), plus the CSRF token that state-changing requests from a browser must carry.
// docs/security.md, "warden-web", is the user's view of these rules.
//
// Without a token file and a password file every request is allowed (warden-web then listens
// on loopback only; main.cc refuses anything else). wardend's own access rules apply on top:
// warden-web acts with its own uid on the control socket.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "base/status.h"

namespace warden::web {

// How a request was let in.
enum class Login { kRefused, kOpen, kToken, kPassword };

struct LoginResult {
  Login login = Login::kRefused;
  std::string user;  // kPassword: the user name; kToken: "token"; kOpen: ""
};

class Auth {
 public:
  Auth();  // no authentication, a fresh CSRF token

  // Reads the files (either may be empty: not used). A token shorter than 16 characters, a
  // password line that is not `user:$id$...`, an unreadable file: an error naming FILE:LINE.
  static Result<Auth> Load(const std::string& token_file, const std::string& password_file);
  // For tests: the same from the files' text.
  static Result<Auth> FromText(std::string_view token_text, std::string_view password_text,
                               const std::string& password_file_name = "passwords");

  bool enabled() const { return !token_.empty() || !passwords_.empty(); }
  bool has_passwords() const { return !passwords_.empty(); }

  // Checks an Authorization header ("Bearer T", "Basic base64(user:password)"; may be empty).
  LoginResult Check(std::string_view authorization) const;

  // The token a browser page gets from GET /api/v1/csrf and sends back as X-CSRF-Token on
  // each POST: random per warden-web process.
  const std::string& csrf_token() const { return csrf_; }
  // A POST is allowed when it carries the CSRF token, or came in with the bearer token (which
  // a browser never adds on its own, so a cross-site page cannot use it).
  bool PostAllowed(const LoginResult& login, std::string_view csrf_header) const;

 private:
  std::string token_;
  std::map<std::string, std::string, std::less<>> passwords_;  // user -> crypt(3) hash
  std::string csrf_;
};

// Whether a and b are equal, in a time that does not depend on where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);
// Whether `password` matches the crypt(3) `hash` ($y$ yescrypt, $6$ SHA-512, $2b$ bcrypt ...).
bool VerifyPassword(const std::string& password, const std::string& hash);
// RFC 4648 base64; nullopt-like empty result with *ok false on bad input.
std::string Base64Decode(std::string_view text, bool* ok);

}  // namespace warden::web
