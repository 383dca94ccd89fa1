#pragma once
// Parsing helpers shared by the verbs: lists, shapes, and the environment
// record with engine versions.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "inferlab/environment.h"
#include "inferlab/tensor.h"

namespace inferlab::cli {

/// Splits "a,b,,c" into {"a","b","c"} (empty items dropped, spaces trimmed).
std::vector<std::string> split_list(const std::string& text);

/// Joins items with commas: the inverse of split_list for items without commas.
std::string join_list(const std::vector<std::string>& items);

/// Parses a comma list of positive integers for `flag`; throws Error naming the flag.
std::vector<std::int64_t> parse_positive_list(const std::string& text, const std::string& flag);

/// Parses repeated "--shape NAME=DIMS" (or "DIMS" for a single-input model).
std::map<std::string, Shape> parse_shapes(const std::vector<std::string>& items);

/// The environment plus the versions of every compiled-in engine, for a run with `threads` intra-op threads.
Environment environment_with_engines(int threads);

/// The default for --threads: the online logical CPUs.
int default_thread_count();

}  // namespace inferlab::cli
