#pragma once
/// @file files.h
/// File helpers that keep promises to the user: a result file is either the
/// complete new document or absent, never half-written.

#include <cstddef>
#include <string>

namespace inferlab {

/// Writes `content` to `path` through a temporary file in the same directory
/// and rename(2), so readers never see a partial file. Creates no directories.
/// Throws Error (kBadInput) naming the path when it cannot be written.
void write_file_atomically(const std::string& path, const std::string& content);

/// Reads a whole file; throws Error naming the path when it cannot be read.
std::string read_file(const std::string& path);

/// Creates `dir` (and parents) if needed and checks that a file can be
/// created in it. Throws Error "--flag DIR: <why>" naming `flag` otherwise.
void ensure_writable_directory(const std::string& dir, const std::string& flag);

/// Checks that the parent directory of `path` exists and is writable, before
/// any long work starts. Throws Error "--flag PATH: <why>".
void ensure_writable_file_path(const std::string& path, const std::string& flag);

/// `text` with every character other than letters, digits, '-', '_' and '.'
/// replaced by '_', for file names built from model and backend names.
std::string file_safe_name(std::string text);

/// The last line of the text file at `path` that is not blank, cut to
/// `max_chars` (with "..."); empty when the file is missing or blank. A
/// child process's last words are what a user needs in a reason column.
std::string last_nonempty_line(const std::string& path, std::size_t max_chars = 300);

/// inferlab's per-user cache: $XDG_CACHE_HOME/inferlab, else
/// ~/.cache/inferlab, else (no HOME) the relative .cache/inferlab. Not created.
std::string user_cache_directory();

/// A private temporary directory, removed with its contents on destruction.
/// Not copyable.
class TempDir {
 public:
  /// Creates a fresh directory under $TMPDIR (or /tmp) named prefix-XXXXXX.
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace inferlab
