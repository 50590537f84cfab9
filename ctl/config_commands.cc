#include "ctl/config_commands.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/env_file.h"
#include "ctl/render.h"
#include "importer/import_supervisord.h"

namespace warden::ctl {
namespace {

using Json = nlohmann::ordered_json;

const char* KindWord(proto::ChangeKind kind) {
  switch (kind) {
    case proto::ChangeKind::kAdded:
      return "added";
    case proto::ChangeKind::kRemoved:
      return "removed";
    case proto::ChangeKind::kChanged:
      return "changed";
  }
  return "changed";
}

// ConfigChange.apply: its word for --json, and what `reread` says update would do.
struct ApplyText {
  const char* word;
  const char* says;
};
ApplyText ApplyTexts(proto::ApplyMode apply) {
  switch (apply) {
    case proto::ApplyMode::kLive:
      return {"live", "applies it live"};
    case proto::ApplyMode::kNextStart:
      return {"next start", "applies it at the next start"};
    case proto::ApplyMode::kRestart:
      break;
  }
  return {"restart", "restarts it"};  // also a number this version does not know: to be safe
}

// A config error reply carries one diagnostic per line.
int ReportCallFailure(const Status& status, std::ostream& err) {
  if (status.code() == ErrorCode::kConfig) {
    err << status.message() << "\n"
        << "wardenctl: the configuration is invalid; nothing was changed\n";
  } else {
    err << "wardenctl: " << status.message() << "\n";
  }
  return kExitFailure;
}

}  // namespace

int Reread(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  Result<std::vector<uint8_t>> payload = daemon.Call(proto::MessageType::kReread, {});
  if (!payload.ok()) return ReportCallFailure(payload.status(), err);
  proto::RereadReply reply;
  if (!proto::Decode(*payload, &reply)) {
    err << "wardenctl: bad reply from wardend: malformed reread reply\n";
    return kExitFailure;
  }
  if (command.json) {
    Json array = Json::array();
    for (const auto& c : reply.changes) {
      array.push_back({{"name", c.name},
                       {"change", KindWord(c.kind)},
                       {"restart", c.apply == proto::ApplyMode::kRestart},
                       {"apply", ApplyTexts(c.apply).word},
                       {"keys", c.keys}});
    }
    out << array.dump(2) << "\n";
    return kExitOk;
  }
  if (reply.changes.empty()) out << "No config updates to processes\n";
  for (const auto& c : reply.changes) {
    // supervisorctl's words ("web: changed"), then what changed and what applying it does.
    out << c.name << ": " << KindWord(c.kind);
    if (c.kind == proto::ChangeKind::kChanged) {
      out << " (";
      for (size_t i = 0; i < c.keys.size(); ++i) out << (i ? ", " : "") << c.keys[i];
      out << "; update " << ApplyTexts(c.apply).says << ")";
    }
    out << "\n";
  }
  return kExitOk;
}

int Avail(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  Result<std::vector<uint8_t>> status_payload =
      daemon.Call(proto::MessageType::kStatus, proto::Encode(proto::StatusRequest{}));
  if (!status_payload.ok()) return ReportCallFailure(status_payload.status(), err);
  proto::StatusReply status;
  if (!proto::Decode(*status_payload, &status)) {
    err << "wardenctl: bad reply from wardend: malformed status reply\n";
    return kExitFailure;
  }
  Result<std::vector<uint8_t>> reread_payload = daemon.Call(proto::MessageType::kReread, {});
  if (!reread_payload.ok()) return ReportCallFailure(reread_payload.status(), err);
  proto::RereadReply reread;
  if (!proto::Decode(*reread_payload, &reread)) {
    err << "wardenctl: bad reply from wardend: malformed reread reply\n";
    return kExitFailure;
  }
  std::set<std::string> removed, added;
  for (const auto& c : reread.changes) {
    if (c.kind == proto::ChangeKind::kRemoved) removed.insert(c.name);
    if (c.kind == proto::ChangeKind::kAdded) added.insert(c.name);
  }
  std::vector<std::pair<std::string, std::string>> rows;  // name, what
  for (const auto& p : status.processes) {
    const std::string full = p.group == p.name ? p.name : p.group + ":" + p.name;
    // A process of a removed program: its group is the program's name, or its name is.
    const bool gone = removed.count(p.group) != 0 || removed.count(p.name) != 0;
    rows.emplace_back(full, gone ? "removed" : "in use");
  }
  for (const std::string& name : added) rows.emplace_back(name, "avail");
  if (command.json) {
    Json array = Json::array();
    for (const auto& [name, what] : rows) array.push_back({{"name", name}, {"state", what}});
    out << array.dump(2) << "\n";
    return kExitOk;
  }
  size_t width = 30;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  for (const auto& [name, what] : rows) {
    out << name << std::string(width + 3 - name.size(), ' ') << what << "\n";
  }
  return kExitOk;
}

int Update(const Command& command, proto::MessageType type, DaemonLink& daemon, std::ostream& out,
           std::ostream& err) {
  // UPDATE names programs and groups; RELOAD is empty (docs/protocol.md).
  proto::ActionRequest request;
  request.names = command.names;
  Result<std::vector<uint8_t>> payload = daemon.Call(
      type, type == proto::MessageType::kReload ? std::vector<uint8_t>{} : proto::Encode(request));
  if (!payload.ok()) return ReportCallFailure(payload.status(), err);
  proto::ActionReply reply;
  if (!proto::Decode(*payload, &reply)) {
    err << "wardenctl: bad reply from wardend: malformed update reply\n";
    return kExitFailure;
  }
  int code = kExitOk;
  Json array = Json::array();
  for (const auto& r : reply.results) {
    bool ok = r.code == ErrorCode::kOk;
    if (!ok) code = r.code == ErrorCode::kNotFound ? kExitNoSuchProcess : kExitFailure;
    if (command.json) {
      array.push_back({{"name", r.name}, {"ok", ok}, {"message", r.message}});
    } else if (ok) {
      out << r.name << ": " << r.message << "\n";
    } else {
      out << r.name << ": " << ErrorText(r.code, r.message) << "\n";
    }
  }
  if (command.json) out << array.dump(2) << "\n";
  if (!command.json && reply.results.empty()) out << "No config updates to processes\n";
  return code;
}

int Check(const Command& command, std::ostream& out, std::ostream& err) {
  const std::string& path = command.names.at(0);
  config::LoadResult loaded = config::LoadConfigFile(path);
  if (!loaded.config) {
    for (const auto& d : loaded.errors) err << d.ToString() << "\n";
    return kExitFailure;
  }
  // What the host must provide too: users and groups (errors), commands and folders; and the
  // env files, as each start will read them (a bad line as FILE:LINE).
  const config::HostCheck host = config::CheckHost(*loaded.config);
  for (const auto& d : host.errors) err << d.ToString() << "\n";
  for (const auto& d : host.warnings) err << d.ToString() << "\n";
  const std::vector<config::Diagnostic> env_problems = config::CheckEnvFiles(*loaded.config);
  for (const auto& d : env_problems) err << d.ToString() << "\n";
  if (!host.errors.empty() || !env_problems.empty()) return kExitFailure;
  out << path << ": ok (" << loaded.config->programs.size() << " program"
      << (loaded.config->programs.size() == 1 ? "" : "s") << ")\n";
  return kExitOk;
}

int ImportSupervisordCommand(const Command& command, std::ostream& out, std::ostream& err) {
  const std::string& path = command.names.at(0);
  importer::ImportResult result = importer::ImportSupervisord(path, importer::SystemImportHost());
  for (const importer::ImportMessage& m : result.messages) err << m.ToString() << "\n";
  if (result.yaml.empty()) {
    err << "wardenctl: nothing converted\n";
    return kExitFailure;
  }
  out << result.yaml;
  const int warnings = result.Count(importer::ImportMessage::Severity::kWarning);
  const int errors = result.Count(importer::ImportMessage::Severity::kError);
  err << "wardenctl: converted " << result.programs << " program"
      << (result.programs == 1 ? "" : "s") << " and " << result.groups << " group"
      << (result.groups == 1 ? "" : "s") << " from " << path;
  if (warnings > 0) {
    err << "; " << warnings << " warning" << (warnings == 1 ? "" : "s")
        << " (what was not converted, listed above)";
  }
  if (errors > 0) {
    err << "; " << errors << " error" << (errors == 1 ? "" : "s") << ": the output is incomplete";
  }
  err << "\n";
  return errors > 0 ? kExitFailure : kExitOk;
}

}  // namespace warden::ctl
