// folder:DIR — one sub-folder per class; sorted folder names are the class
// indices (the torchvision ImageFolder convention), images sorted by name.
#include <algorithm>
#include <filesystem>

#include "datasets_detail.h"
#include "inferlab/error.h"

namespace inferlab {

namespace {

namespace fs = std::filesystem;

class FolderDataset final : public Dataset {
 public:
  FolderDataset(std::string name, std::vector<std::string> classes, std::vector<std::pair<std::string, int>> files)
      : name_(std::move(name)), classes_(std::move(classes)), files_(std::move(files)) {}
  std::string name() const override { return name_; }
  std::size_t size() const override { return files_.size(); }
  int class_count() const override { return static_cast<int>(classes_.size()); }
  std::vector<std::string> class_names() const override { return classes_; }
  int label(std::size_t index) const override { return files_.at(index).second; }
  std::string sample_id(std::size_t index) const override {
    const fs::path path(files_.at(index).first);
    return (path.parent_path().filename() / path.filename()).string();
  }
  Image decode(std::size_t index) const override { return data_detail::decode_image_file(files_.at(index).first); }

 private:
  std::string name_;
  std::vector<std::string> classes_;
  std::vector<std::pair<std::string, int>> files_;  // absolute-ish path, label
};

}  // namespace

namespace data_detail {

std::unique_ptr<Dataset> open_folder(const std::string& dir, const std::string& where) {
  std::vector<fs::path> class_dirs;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory() && it->path().filename().string().front() != '.') class_dirs.push_back(it->path());
  }
  if (ec) throw Error(where + ": " + dir + ": " + ec.message());
  if (class_dirs.empty()) throw Error(where + ": " + dir + " has no class sub-folders");
  std::sort(class_dirs.begin(), class_dirs.end());

  std::vector<std::string> classes;
  std::vector<std::pair<std::string, int>> files;
  for (const auto& class_dir : class_dirs) {
    const int label = static_cast<int>(classes.size());
    classes.push_back(class_dir.filename().string());
    std::vector<std::string> images;
    for (fs::directory_iterator it(class_dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file() && has_image_extension(it->path().string())) images.push_back(it->path().string());
    }
    std::sort(images.begin(), images.end());
    for (auto& image : images) files.emplace_back(std::move(image), label);
  }
  if (files.empty()) {
    throw Error(where + ": no images in the " + std::to_string(classes.size()) + " class folders of " + dir +
                " (.jpg, .jpeg, .png, ...)");
  }
  return std::make_unique<FolderDataset>("folder:" + dir, std::move(classes), std::move(files));
}

}  // namespace data_detail
}  // namespace inferlab
