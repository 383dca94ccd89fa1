#pragma once
// The on-disk timing cache of the native engine's tactic selection (after
// TensorRT's timing cache): which implementation won for a layer signature
// on this machine, so a second prepare() does not time the candidates again.
//
// One text file, tab-separated, rewritten whole (temporary + rename):
//
//   inferlab-tactics 3
//   machine<TAB>cpu=AMD EPYC<TAB>isa=avx2<TAB>onednn=2.6.3 (N/A)
//   <layer signature><TAB><tactic name><TAB><measured ms>
//   ...
//
// Timings are only meaningful on the machine that measured them, so a file
// whose machine line differs is not used (and is rewritten for this one). A
// file that does not parse is ignored with one warning on stderr and rebuilt:
// the cache only ever saves time, it never stops a session.

#include <map>
#include <string>

namespace inferlab::native {

/// The cache's file: $INFERLAB_TACTIC_CACHE, else
/// $XDG_CACHE_HOME/inferlab/tactics.tsv, else ~/.cache/inferlab/tactics.tsv.
std::string default_tactic_cache_path();

/// This machine's key for the cache header: CPU model (/proc/cpuinfo), the
/// ISA oneDNN dispatches to, and the oneDNN version.
std::string tactic_machine_key();

class TacticCache {
 public:
  struct Entry {
    std::string tactic;
    double ms = 0;
  };

  /// Reads `path` (absent is fine: an empty cache) for machine `machine`.
  /// Never throws: a corrupt file is reported by one stderr warning and
  /// treated as empty, and save() then rewrites it.
  TacticCache(std::string path, std::string machine);

  /// The entry for `signature`, or null.
  const Entry* find(const std::string& signature) const;
  void put(const std::string& signature, Entry entry);

  /// Writes the file when something changed since it was read (new entries,
  /// or the file was corrupt or from another machine). Entries another
  /// process saved meanwhile are kept unless this cache has the same
  /// signature. A write failure is a warning, not an error.
  void save();

  const std::string& path() const { return path_; }
  /// Why the file was not used as read ("" when it was, or did not exist).
  const std::string& problem() const { return problem_; }

 private:
  // Parses `text`; false with `why` set when it is corrupt. `same_machine`
  // is false (and `entries` empty) for a well-formed file of another machine.
  bool parse(const std::string& text, std::map<std::string, Entry>& entries, bool& same_machine,
             std::string& why) const;

  std::string path_, machine_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, Entry> added_;  // put() since load: what save() must not lose
  bool dirty_ = false;
  std::string problem_;
};

}  // namespace inferlab::native
