// imagenet:DIR — the ILSVRC2012 validation layout: a folder of JPEGs plus a
// ground-truth file, in either of the two forms users actually have:
//   val.txt                 "ILSVRC2012_val_00000001.JPEG 65" (0-based class index)
//   LOC_val_solution.csv    "ILSVRC2012_val_00000001,n01751748 ..." (Kaggle), with
//   LOC_synset_mapping.txt  "n01440764 tench, Tinca tinca" (line order = class index)
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "datasets_detail.h"
#include "inferlab/error.h"

namespace inferlab {

namespace {

namespace fs = std::filesystem;

struct Entry {
  std::string file;  // relative to the image folder
  int label = 0;
};

class ImagenetDataset final : public Dataset {
 public:
  ImagenetDataset(std::string name, fs::path dir, std::vector<Entry> entries, std::vector<std::string> classes)
      : name_(std::move(name)), dir_(std::move(dir)), entries_(std::move(entries)), classes_(std::move(classes)) {}
  std::string name() const override { return name_; }
  std::size_t size() const override { return entries_.size(); }
  int class_count() const override { return classes_.empty() ? -1 : static_cast<int>(classes_.size()); }
  std::vector<std::string> class_names() const override { return classes_; }
  int label(std::size_t index) const override { return entries_.at(index).label; }
  std::string sample_id(std::size_t index) const override { return entries_.at(index).file; }
  Image decode(std::size_t index) const override {
    return data_detail::decode_image_file((dir_ / entries_.at(index).file).string());
  }

 private:
  std::string name_;
  fs::path dir_;
  std::vector<Entry> entries_;
  std::vector<std::string> classes_;
};

// The Kaggle archive keeps the CSVs at its root, four levels above the
// images (ILSVRC/Data/CLS-LOC/val), so look in DIR and up to four parents.
fs::path find_upwards(const fs::path& dir, const std::string& file) {
  fs::path at = fs::absolute(dir).lexically_normal();
  for (int level = 0; level <= 4; ++level) {
    std::error_code ec;
    if (fs::is_regular_file(at / file, ec)) return at / file;
    if (!at.has_parent_path() || at.parent_path() == at) break;
    at = at.parent_path();
  }
  return {};
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) text.pop_back();
  std::size_t begin = 0;
  while (begin < text.size() && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  return text.substr(begin);
}

std::vector<Entry> read_val_txt(const fs::path& path, const std::string& where) {
  std::ifstream in(path);
  if (!in) throw Error(where + ": " + path.string() + ": cannot read");
  std::vector<Entry> entries;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = trimmed(line);
    if (line.empty()) continue;
    std::istringstream fields(line);
    Entry entry;
    std::string extra;
    if (!(fields >> entry.file >> entry.label) || (fields >> extra) || entry.label < 0) {
      throw Error(where + ": " + path.string() + " line " + std::to_string(number) +
                  ": expected 'FILENAME CLASS-INDEX', got '" + line + "'");
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<std::string> read_synsets(const fs::path& path, const std::string& where,
                                      std::map<std::string, int>& index_of) {
  std::ifstream in(path);
  if (!in) throw Error(where + ": " + path.string() + ": cannot read");
  std::vector<std::string> names;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = trimmed(line);
    if (line.empty()) continue;
    const auto space = line.find(' ');
    const std::string synset = line.substr(0, space);
    std::string words = space == std::string::npos ? synset : line.substr(space + 1);
    words = words.substr(0, words.find(','));
    if (!index_of.emplace(synset, static_cast<int>(names.size())).second) {
      throw Error(where + ": " + path.string() + " line " + std::to_string(number) + ": synset " + synset +
                  " listed twice");
    }
    names.push_back(words);
  }
  return names;
}

std::vector<Entry> read_loc_solution(const fs::path& path, const std::map<std::string, int>& index_of,
                                     const fs::path& image_dir, const std::string& where) {
  std::ifstream in(path);
  if (!in) throw Error(where + ": " + path.string() + ": cannot read");
  std::vector<Entry> entries;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = trimmed(line);
    if (line.empty() || (number == 1 && line.rfind("ImageId", 0) == 0)) continue;
    const auto comma = line.find(',');
    if (comma == std::string::npos) {
      throw Error(where + ": " + path.string() + " line " + std::to_string(number) +
                  ": expected 'ImageId,PredictionString'");
    }
    const std::string image_id = line.substr(0, comma);
    std::istringstream prediction(line.substr(comma + 1));
    std::string synset;
    prediction >> synset;
    const auto found = index_of.find(synset);
    if (found == index_of.end()) {
      throw Error(where + ": " + path.string() + " line " + std::to_string(number) + ": synset '" + synset +
                  "' is not in LOC_synset_mapping.txt");
    }
    // The CSV names images without extension; the archive stores .JPEG.
    std::string file = image_id + ".JPEG";
    std::error_code ec;
    if (!fs::exists(image_dir / file, ec) && fs::exists(image_dir / (image_id + ".jpg"), ec)) file = image_id + ".jpg";
    entries.push_back({file, found->second});
  }
  return entries;
}

}  // namespace

namespace data_detail {

std::unique_ptr<Dataset> open_imagenet(const std::string& dir, const std::string& where) {
  bool any_image = false;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end && !any_image; it.increment(ec)) {
    any_image = it->is_regular_file() && has_image_extension(it->path().string());
  }
  if (!any_image) throw Error(where + ": " + dir + " contains no images (.jpg, .jpeg, .png, ...)");

  std::vector<Entry> entries;
  std::vector<std::string> classes;
  std::string label_file;
  if (const fs::path val_txt = find_upwards(dir, "val.txt"); !val_txt.empty()) {
    entries = read_val_txt(val_txt, where);
    label_file = val_txt.string();
  } else {
    const fs::path solution = find_upwards(dir, "LOC_val_solution.csv");
    const fs::path mapping = find_upwards(dir, "LOC_synset_mapping.txt");
    if (solution.empty() || mapping.empty()) {
      throw Error(where + ": no ground truth found: expected val.txt, or LOC_val_solution.csv with " +
                  "LOC_synset_mapping.txt, in " + dir + " or a parent folder");
    }
    std::map<std::string, int> index_of;
    classes = read_synsets(mapping, where, index_of);
    entries = read_loc_solution(solution, index_of, dir, where);
    label_file = solution.string();
  }
  if (entries.empty()) throw Error(where + ": " + label_file + " lists no images");

  std::size_t missing = 0;
  std::string first_missing;
  for (const auto& entry : entries) {
    std::error_code ec;
    if (!fs::is_regular_file(fs::path(dir) / entry.file, ec)) {
      if (missing++ == 0) first_missing = entry.file;
    }
  }
  if (missing > 0) {
    throw Error(where + ": " + label_file + " names " + std::to_string(missing) + " of " +
                std::to_string(entries.size()) + " files that are not in " + dir + " (first: " + first_missing + ")");
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.file < b.file; });
  return std::make_unique<ImagenetDataset>("imagenet:" + dir, fs::path(dir), std::move(entries), std::move(classes));
}

}  // namespace data_detail
}  // namespace inferlab
