// Private to config/: the pieces of LoadConfig that live in separate files. loader.cc reads the
// files, the `warden`, `include` and `groups` sections, and checks references across files;
// program.cc reads one program; validate.cc checks names, dependencies and groups.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace warden::config::internal {

// A program as read, with the positions validate.cc needs to point at.
struct ProgramDraft {
  Program program;
  std::vector<Located> depends_on;  // program.depends_on, each with where it was written
};

struct GroupDraft {
  Group group;
  std::vector<Located> members;  // group.programs, each with where it was written
};

// Reads `entry` (a program name and its settings) into a draft, reporting every problem.
// `base_dir` is the absolute folder of the file, for relative log paths.
ProgramDraft ReadProgram(const FileReader& reader, const Entry& entry, const std::string& base_dir);

// Checks what spans programs and groups: names, duplicates, depends_on targets and cycles, group
// membership and process names. Reports through `errors`.
void ValidateReferences(const std::vector<ProgramDraft>& programs,
                        const std::vector<GroupDraft>& groups, std::vector<Diagnostic>* errors);

// `path` made absolute against `base_dir` when relative, lexically normalized.
std::string ResolvePath(const std::string& base_dir, const std::string& path);

}  // namespace warden::config::internal
