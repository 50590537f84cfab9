#include "web/auth.h"

#include <crypt.h>
#include <gtest/gtest.h>

namespace warden::web {
namespace {

std::string Yescrypt(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$y$", 0, nullptr, 0, salt, sizeof salt), nullptr);
  crypt_data data{};
  return crypt_r(password.c_str(), salt, &data);
}

std::string Basic(const std::string& user_password) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < user_password.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(user_password[i])) << 16 |
                 static_cast<uint32_t>(static_cast<unsigned char>(user_password[i + 1])) << 8 |
                 static_cast<unsigned char>(user_password[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(n >> shift) & 63]);
  }
  if (size_t rest = user_password.size() - i; rest > 0) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(user_password[i])) << 16;
    if (rest == 2)
      n |= static_cast<uint32_t>(static_cast<unsigned char>(user_password[i + 1])) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out += rest == 2 ? std::string(1, kAlphabet[(n >> 6) & 63]) + "=" : "==";
  }
  return "Basic " + out;
}

TEST(AuthTest, WithoutFilesEverythingIsOpenButPostsNeedTheCsrfToken) {
  Auth auth;
  EXPECT_FALSE(auth.enabled());
  LoginResult login = auth.Check("");
  EXPECT_EQ(login.login, Login::kOpen);
  EXPECT_EQ(auth.csrf_token().size(), 64u);
  EXPECT_FALSE(auth.PostAllowed(login, ""));
  EXPECT_FALSE(auth.PostAllowed(login, "nope"));
  EXPECT_TRUE(auth.PostAllowed(login, auth.csrf_token()));
  EXPECT_NE(Auth().csrf_token(), auth.csrf_token()) << "random per process";
}

TEST(AuthTest, BearerTokenLetsInAndNeedsNoCsrf) {
  Result<Auth> auth = Auth::FromText("0123456789abcdef0123\n", "");
  ASSERT_TRUE(auth.ok()) << auth.status().message();
  EXPECT_TRUE(auth->enabled());
  EXPECT_EQ(auth->Check("").login, Login::kRefused);
  EXPECT_EQ(auth->Check("Bearer wrong").login, Login::kRefused);
  EXPECT_EQ(auth->Check("Bearer 0123456789abcdef012").login, Login::kRefused);
  LoginResult login = auth->Check("Bearer 0123456789abcdef0123");
  EXPECT_EQ(login.login, Login::kToken);
  EXPECT_TRUE(auth->PostAllowed(login, ""));
  EXPECT_EQ(auth->Check(Basic("a:b")).login, Login::kRefused) << "no password file";
}

TEST(AuthTest, ShortOrSpacedTokensAreRefused) {
  EXPECT_FALSE(Auth::FromText("short", "").ok());
  EXPECT_FALSE(Auth::FromText("0123456789 abcdef0123", "").ok());
}

TEST(AuthTest, PasswordFileWithYescryptAndSha512) {
  const std::string text = "# users\n\nalice:" + Yescrypt("wonderland") +
                           "\nbob:$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv"
                           "72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.\n";
  Result<Auth> auth = Auth::FromText("", text);
  ASSERT_TRUE(auth.ok()) << auth.status().message();
  LoginResult alice = auth->Check(Basic("alice:wonderland"));
  EXPECT_EQ(alice.login, Login::kPassword);
  EXPECT_EQ(alice.user, "alice");
  EXPECT_EQ(auth->Check(Basic("bob:secret")).user, "bob");
  EXPECT_EQ(auth->Check(Basic("alice:secret")).login, Login::kRefused);
  EXPECT_EQ(auth->Check(Basic("carol:secret")).login, Login::kRefused);
  EXPECT_EQ(auth->Check("Basic !!!").login, Login::kRefused);
  EXPECT_FALSE(auth->PostAllowed(alice, "")) << "a browser login needs the CSRF token";
  EXPECT_TRUE(auth->PostAllowed(alice, auth->csrf_token()));
}

TEST(AuthTest, BadPasswordLinesNameFileAndLine) {
  Result<Auth> plain = Auth::FromText("", "alice:$y$ok\nbob:secret\n", "/etc/pw");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("/etc/pw:2: "), std::string::npos)
      << plain.status().message();
  Result<Auth> no_colon = Auth::FromText("", "alice\n", "/etc/pw");
  ASSERT_FALSE(no_colon.ok());
  EXPECT_NE(no_colon.status().message().find("/etc/pw:1: expected 'user:HASH'"), std::string::npos);
}

TEST(AuthTest, ConstantTimeEqualsAndBase64) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  bool ok = false;
  EXPECT_EQ(Base64Decode("YWxpY2U6cHc=", &ok), "alice:pw");
  EXPECT_TRUE(ok);
  Base64Decode("a$b", &ok);
  EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace warden::web
