#include "store/store_json.h"

namespace inferlab::store_detail {

Environment environment_from_json(const nlohmann::json& j) {
  Environment env;
  if (!j.is_object()) return env;
  env.cpu_model = j.value("cpu_model", "");
  env.isa = j.value("isa", std::vector<std::string>{});
  env.cores = j.value("cores", 0);
  env.threads = j.value("threads", 0);
  env.memory_total_bytes = j.value("memory_total_bytes", std::int64_t{0});
  env.governor = j.value("governor", "");
  env.os = j.value("os", "");
  env.compiler = j.value("compiler", "");
  env.libraries = j.value("libraries", std::map<std::string, std::string>{});
  env.git_revision = j.value("git_revision", "");
  env.started_at = j.value("started_at", "");
  return env;
}

}  // namespace inferlab::store_detail
