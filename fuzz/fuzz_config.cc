// libFuzzer target: the config loader (config::LoadConfigString) over arbitrary text.
//
// It must never throw, crash or hang, and it must answer either a config or at least one
// diagnostic, each with a message. Includes are not followed here: glob() below (which the
// loader resolves every include through) matches nothing, so an input can neither read the
// machine's files nor make a run depend on them. Unknown user and group names in `access:` are
// still looked up (in /etc/passwd and /etc/group).
#include <glob.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.h"

extern "C" int glob(const char* /*pattern*/, int /*flags*/, int (* /*errfunc*/)(const char*, int),
                    glob_t* pglob) {
  pglob->gl_pathc = 0;
  pglob->gl_pathv = nullptr;
  pglob->gl_offs = 0;
  return GLOB_NOMATCH;
}

extern "C" void globfree(glob_t* pglob) {
  pglob->gl_pathc = 0;
  pglob->gl_pathv = nullptr;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const warden::config::LoadResult result =
      warden::config::LoadConfigString(text, "/nonexistent-warden-fuzz/warden.yaml");
  if (result.config.has_value() == !result.errors.empty()) std::abort();
  for (const warden::config::Diagnostic& d : result.errors) {
    if (d.message.empty()) std::abort();
  }
  return 0;
}
