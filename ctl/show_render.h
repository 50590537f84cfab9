// `wardenctl show NAME`: one process in detail (the SHOW reply), as text in the manner of
// `systemctl status` (labelled lines, then the last log lines), or as one JSON object: the
// process's `status --json` record plus its definition, logs and health. Pure formatting.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "proto/messages.h"

namespace warden::ctl {

std::string ShowText(const proto::ShowReply& show);
nlohmann::ordered_json ShowJson(const proto::ShowReply& show);

}  // namespace warden::ctl
