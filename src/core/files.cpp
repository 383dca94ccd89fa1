#include "inferlab/files.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "inferlab/error.h"

namespace inferlab {

namespace fs = std::filesystem;

void write_file_atomically(const std::string& path, const std::string& content) {
  // The temporary lives beside the target so rename() stays within one file
  // system and is atomic.
  std::string temp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path + ": cannot write (" + std::strerror(errno) + ")");
    out << content;
    out.flush();
    if (!out) {
      out.close();
      std::remove(temp.c_str());
      throw Error(path + ": write failed (" + std::strerror(errno) + ")");
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    std::remove(temp.c_str());
    throw Error(path + ": cannot rename temporary into place (" + std::strerror(saved) + ")");
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read (" + std::strerror(errno) + ")");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

namespace {

void probe_create_file_in(const std::string& dir, const std::string& shown, const std::string& flag) {
  std::string probe = (fs::path(dir) / (".inferlab-probe-" + std::to_string(::getpid()))).string();
  std::FILE* f = std::fopen(probe.c_str(), "wb");
  if (f == nullptr) throw Error(flag + " " + shown + ": not writable (" + std::strerror(errno) + ")");
  std::fclose(f);
  std::remove(probe.c_str());
}

}  // namespace

void ensure_writable_directory(const std::string& dir, const std::string& flag) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw Error(flag + " " + dir + ": exists and is not a directory");
  fs::create_directories(dir, ec);
  if (ec) throw Error(flag + " " + dir + ": cannot create directory (" + ec.message() + ")");
  probe_create_file_in(dir, dir, flag);
}

void ensure_writable_file_path(const std::string& path, const std::string& flag) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(flag + " " + path + ": is a directory, expected a file name");
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) parent = ".";
  if (!fs::is_directory(parent, ec))
    throw Error(flag + " " + path + ": directory " + parent.string() + " does not exist");
  probe_create_file_in(parent.string(), path, flag);
}

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    throw Error("cannot create a temporary directory from " + pattern + " (" + std::strerror(errno) + ")",
                ErrorKind::kRuntime);
  }
  path_ = buffer.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);  // best effort: a leftover temp dir must not turn into an error
}

std::string file_safe_name(std::string text) {
  for (char& c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return text;
}

std::string last_nonempty_line(const std::string& path, std::size_t max_chars) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  if (last.size() > max_chars) last = last.substr(0, max_chars) + "...";
  return last;
}

std::string user_cache_directory() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/inferlab";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/inferlab";
  // No HOME (a bare container): a relative folder is the only guess left.
  return ".cache/inferlab";
}

}  // namespace inferlab
