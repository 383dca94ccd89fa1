#include "training_progress.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <vector>

namespace inferlab::cli {

OptimizeProgress::OptimizeProgress(bool quiet) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) == 1) {}

void OptimizeProgress::clear_bar() {
  if (bar_shown_) std::cerr << "\r\033[K";
  bar_shown_ = false;
}

void OptimizeProgress::operator()(const std::string& line) {
  if (line.rfind("progress: ", 0) == 0) {
    if (!tty_) return;
    // "progress: LABEL EPOCH/EPOCHS STEP/STEPS LOSS"; LABEL may hold spaces.
    std::istringstream fields(line.substr(10));
    std::string word, label, epoch, step, loss;
    std::vector<std::string> words;
    while (fields >> word) words.push_back(word);
    if (words.size() < 4) return;
    loss = words.back();
    step = words[words.size() - 2];
    epoch = words[words.size() - 3];
    for (std::size_t i = 0; i + 3 < words.size(); ++i) label += (i ? " " : "") + words[i];
    int done = 0, total = 1;
    if (std::sscanf(step.c_str(), "%d/%d", &done, &total) != 2 || total <= 0) return;
    constexpr int kWidth = 30;
    const int filled = done * kWidth / total;
    std::cerr << "\r\033[Koptimize: " << label << " epoch " << epoch << " [" << std::string(filled, '#')
              << std::string(kWidth - filled, '.') << "] " << (100 * done / total) << "% loss " << loss << std::flush;
    bar_shown_ = true;
    return;
  }
  if (quiet_ && line.rfind("train: ", 0) != 0) return;
  clear_bar();
  std::cerr << "optimize: " << line << '\n';
}

}  // namespace inferlab::cli
