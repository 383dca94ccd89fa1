// Built instead of cmd_live.cpp and cmd_rppg_eval.cpp when OpenCV is not
// configured: the verbs exist and say why they cannot run.
#include "commands.h"
#include "inferlab/error.h"

namespace inferlab::cli {

namespace {

void add_unavailable(CLI::App& app, const char* verb, const char* what) {
  auto* sub = app.add_subcommand(verb, what);
  sub->allow_extras();
  sub->callback([verb] {
    throw Error(std::string(verb) + ": not built: it needs OpenCV (videoio, objdetect), which configure did not find");
  });
}

}  // namespace

void add_live(CLI::App& app, int*) { add_unavailable(app, "live", "Real-time rPPG demonstrator (needs OpenCV)"); }
void install_live_signal_handlers() {}  // no `live` verb, no handlers to install
void add_rppg_eval(CLI::App& app, int*) {
  add_unavailable(app, "rppg-eval", "rPPG accuracy evaluation (needs OpenCV)");
}

}  // namespace inferlab::cli
