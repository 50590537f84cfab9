// Checks across programs and groups, once every file is read: names, definitions made twice,
// depends_on targets and cycles, group membership, and process names that would collide.
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader_internal.h"
#include "config/values.h"

namespace warden::config::internal {
namespace {

constexpr std::string_view kNameRule = "use only letters, digits, '_', '.' and '-'";

std::string Quote(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string Place(const SourceLocation& where) {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

class Validator {
 public:
  Validator(const std::vector<ProgramDraft>& programs, const std::vector<GroupDraft>& groups,
            std::vector<Diagnostic>* errors)
      : programs_(programs), groups_(groups), errors_(errors) {}

  void Run() {
    IndexPrograms();
    CheckGroups();
    CheckDependsOn();
    CheckCycles();
    CheckProcessNames();
  }

 private:
  void Error(const SourceLocation& where, std::string message) {
    errors_->push_back(Diagnostic{where, std::move(message)});
  }

  // The first definition of each name is the one that counts; later ones are errors.
  void IndexPrograms() {
    for (size_t i = 0; i < programs_.size(); ++i) {
      const Program& p = programs_[i].program;
      if (!IsValidName(p.name)) {
        Error(p.where, "invalid program name " + Quote(p.name) + ": " + std::string(kNameRule));
      }
      const auto [it, inserted] = by_name_.emplace(p.name, i);
      if (!inserted) {
        Error(p.where, "program " + Quote(p.name) + " is already defined at " +
                           Place(programs_[it->second].program.where));
        continue;
      }
      names_.push_back(p.name);
    }
  }

  bool IsFirstDefinition(size_t i) const {
    const auto it = by_name_.find(programs_[i].program.name);
    return it != by_name_.end() && it->second == i;
  }

  void CheckGroups() {
    std::map<std::string, const GroupDraft*, std::less<>> groups_by_name;
    std::map<std::string, const GroupDraft*, std::less<>> group_of_program;
    for (const GroupDraft& draft : groups_) {
      const Group& g = draft.group;
      if (!IsValidName(g.name)) {
        Error(g.where, "invalid group name " + Quote(g.name) + ": " + std::string(kNameRule));
      }
      if (const auto [it, inserted] = groups_by_name.emplace(g.name, &draft); !inserted) {
        Error(g.where, "group " + Quote(g.name) + " is already defined at " +
                           Place(it->second->group.where));
        continue;
      }
      if (draft.members.empty()) {
        Error(g.where, "group " + Quote(g.name) + " has no programs");
        continue;
      }
      const bool named_like_program = by_name_.contains(g.name);
      std::map<std::string, bool, std::less<>> listed;
      for (const Located& member : draft.members) {
        if (!listed.emplace(member.text, true).second) {
          Error(member.where,
                "group " + Quote(g.name) + " lists program " + Quote(member.text) + " twice");
          continue;
        }
        if (!by_name_.contains(member.text)) {
          Error(member.where, "group " + Quote(g.name) + " names unknown program " +
                                  Quote(member.text) + DidYouMean(member.text, names_));
          continue;
        }
        if (named_like_program && member.text != g.name) {
          Error(member.where, "group " + Quote(g.name) + " has the name of a program, so it may " +
                                  "contain only that program");
          continue;
        }
        const auto [it, inserted] = group_of_program.emplace(member.text, &draft);
        if (!inserted) {
          Error(member.where, "program " + Quote(member.text) + " is already in group " +
                                  Quote(it->second->group.name) + " (" +
                                  Place(it->second->group.where) + ")");
        }
      }
    }
  }

  void CheckDependsOn() {
    for (size_t i = 0; i < programs_.size(); ++i) {
      if (!IsFirstDefinition(i)) continue;
      const ProgramDraft& draft = programs_[i];
      std::map<std::string, bool, std::less<>> listed;
      for (const Located& dep : draft.depends_on) {
        if (!listed.emplace(dep.text, true).second) {
          Error(dep.where, "program " + Quote(draft.program.name) + " lists " + Quote(dep.text) +
                               " in 'depends_on' twice");
        } else if (!by_name_.contains(dep.text)) {
          Error(dep.where, "program " + Quote(draft.program.name) + " depends on unknown program " +
                               Quote(dep.text) + DidYouMean(dep.text, names_));
        }
      }
    }
  }

  // Depth-first search over depends_on edges, iterative so a long chain cannot exhaust the stack.
  // Each back edge closes one cycle, reported at the first edge of the cycle as printed.
  void CheckCycles() {
    enum class Mark { kNew, kOnPath, kDone };
    std::vector<Mark> mark(programs_.size(), Mark::kNew);
    struct Frame {
      size_t program;
      size_t next_edge = 0;
      SourceLocation entered_by;  // the depends_on entry that led here
    };
    for (size_t root = 0; root < programs_.size(); ++root) {
      if (!IsFirstDefinition(root) || mark[root] != Mark::kNew) continue;
      std::vector<Frame> path;
      path.push_back(Frame{root, 0, {}});
      mark[root] = Mark::kOnPath;
      while (!path.empty()) {
        Frame& top = path.back();
        const std::vector<Located>& edges = programs_[top.program].depends_on;
        if (top.next_edge == edges.size()) {
          mark[top.program] = Mark::kDone;
          path.pop_back();
          continue;
        }
        const Located& edge = edges[top.next_edge++];
        const auto target = by_name_.find(edge.text);
        if (target == by_name_.end()) continue;
        const size_t next = target->second;
        if (mark[next] == Mark::kNew) {
          mark[next] = Mark::kOnPath;
          path.push_back(Frame{next, 0, edge.where});
        } else if (mark[next] == Mark::kOnPath) {
          size_t start = path.size() - 1;
          while (path[start].program != next) --start;
          std::string cycle;
          for (size_t k = start; k < path.size(); ++k) {
            cycle += programs_[path[k].program].program.name + " -> ";
          }
          cycle += programs_[next].program.name;
          const SourceLocation& where =
              start + 1 < path.size() ? path[start + 1].entered_by : edge.where;
          Error(where, "circular dependency: " + cycle);
        }
      }
    }
  }

  // Process names are how logs (AUTO files) and commands find a process, so two programs must
  // not produce the same one: web with numprocs 2 makes web_00, which a program web_00 also is.
  void CheckProcessNames() {
    std::map<std::string, size_t, std::less<>> owner;
    for (size_t i = 0; i < programs_.size(); ++i) {
      if (!IsFirstDefinition(i)) continue;
      const Program& p = programs_[i].program;
      std::vector<std::string> processes;
      if (p.numprocs <= 1) {
        processes.push_back(p.name);
      } else {
        for (int k = 0; k < p.numprocs; ++k) {
          char number[16];
          std::snprintf(number, sizeof number, "%02d", p.numprocs_start + k);
          processes.push_back(p.name + "_" + number);
        }
      }
      CheckFileNameLength(p, processes);
      for (const std::string& process : processes) {
        const auto [it, inserted] = owner.emplace(process, i);
        if (inserted) continue;
        const Program& other = programs_[it->second].program;
        Error(p.where, "process name " + Quote(process) + " of program " + Quote(p.name) +
                           " is also a process of program " + Quote(other.name) + " (" +
                           Place(other.where) + ")");
        break;
      }
    }
  }

  // A process's AUTO log file is named after it (group.name.stdout.log): a name longer than a
  // file name may be is refused here, not when the process first starts.
  void CheckFileNameLength(const Program& p, const std::vector<std::string>& processes) {
    constexpr size_t kMaxFileName = 255;  // NAME_MAX on Linux file systems
    std::string group = p.name;
    for (const GroupDraft& g : groups_) {
      for (const Located& member : g.members) {
        if (member.text == p.name) group = g.group.name;
      }
    }
    for (const std::string& process : processes) {
      const std::string full = group == process ? process : group + ":" + process;
      std::string file = (group == process ? process : group + "." + process) + ".stdout.log";
      if (file.size() <= kMaxFileName) continue;
      Error(p.where, "process name " + Quote(full) + " of program " + Quote(p.name) +
                         " is too long for its log file name (" + std::to_string(file.size()) +
                         " bytes with '.stdout.log'; at most " + std::to_string(kMaxFileName) +
                         ")");
      return;
    }
  }

  const std::vector<ProgramDraft>& programs_;
  const std::vector<GroupDraft>& groups_;
  std::vector<Diagnostic>* errors_;
  std::map<std::string, size_t, std::less<>> by_name_;
  std::vector<std::string> names_;  // known program names, for suggestions
};

}  // namespace

void ValidateReferences(const std::vector<ProgramDraft>& programs,
                        const std::vector<GroupDraft>& groups, std::vector<Diagnostic>* errors) {
  Validator(programs, groups, errors).Run();
}

}  // namespace warden::config::internal
