// Datasets: the digits split (cross-checked against models/digits_cnn.py),
// the imagenet: and folder: layouts on folders written here, and the errors
// each bad layout must give.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "inferlab/dataset.h"
#include "inferlab/error.h"
#include "inferlab/files.h"

namespace inferlab {
namespace {

namespace fs = std::filesystem;

// A binary PGM needs no codec library to write, and OpenCV decodes it.
void write_pgm(const fs::path& path, int width, int height, std::uint8_t value) {
  std::ofstream out(path, std::ios::binary);
  out << "P5\n" << width << " " << height << "\n255\n";
  out << std::string(static_cast<std::size_t>(width) * height, static_cast<char>(value));
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

std::string error_of(const std::string& spec) {
  try {
    open_dataset(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DigitsSplit, SizesAreStratifiedAndDisjoint) {
  const auto train = digits_split("train");
  const auto test = digits_split("test");
  ASSERT_EQ(train.size(), 4000U);
  ASSERT_EQ(test.size(), 1000U);
  EXPECT_EQ(digits_split("all").size(), 5000U);
  std::vector<int> per_class(10, 0);
  for (auto i : test) ++per_class[i / 500];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(per_class[c], 100) << "class " << c;
  std::set<std::size_t> seen(train.begin(), train.end());
  for (auto i : test) EXPECT_EQ(seen.count(i), 0U) << i;
  EXPECT_TRUE(std::is_sorted(test.begin(), test.end()));
}

TEST(DigitsSplit, MatchesThePythonTrainingScript) {
  // Printed by models/digits_cnn.py split_indices(): the model is trained on
  // exactly the complement of what `--dataset digits` evaluates.
  const auto test = digits_split("test");
  const std::vector<std::size_t> python_first{2, 4, 16, 24, 30, 36, 45, 52};
  EXPECT_EQ(std::vector<std::size_t>(test.begin(), test.begin() + 8), python_first);
  EXPECT_EQ(test[997], 4987U);
  EXPECT_EQ(test[999], 4990U);
  const auto train = digits_split("train");
  EXPECT_EQ(std::vector<std::size_t>(train.begin(), train.begin() + 5), (std::vector<std::size_t>{0, 1, 3, 5, 6}));
}

TEST(DigitsSplit, UnknownPartIsAnError) { EXPECT_THROW(digits_split("validation"), Error); }

TEST(DigitsDataset, DecodesCellsWithLabels) {
  if (!fs::exists(digits_png_path())) GTEST_SKIP() << digits_png_path() << " missing (opencv-doc)";
  auto dataset = open_dataset("digits");
  ASSERT_EQ(dataset->size(), 1000U);
  EXPECT_EQ(dataset->class_count(), 10);
  EXPECT_EQ(dataset->label(0), 0);
  EXPECT_EQ(dataset->label(999), 9);
  const Image image = dataset->decode(0);
  EXPECT_EQ(image.width, 20);
  EXPECT_EQ(image.channels, 1);
  // A handwritten digit has ink: some bright pixels on a dark background.
  EXPECT_GT(*std::max_element(image.pixels.begin(), image.pixels.end()), 128);
  EXPECT_NE(error_of("digits:validation").find("unknown digits part"), std::string::npos);
}

TEST(FolderDataset, SortedFoldersAreClassIndices) {
  TempDir dir("inferlab-folder");
  for (const char* name : {"cat", "ant", "bee"}) fs::create_directories(fs::path(dir.path()) / name);
  write_pgm(fs::path(dir.path()) / "ant" / "b.pgm", 4, 4, 10);
  write_pgm(fs::path(dir.path()) / "ant" / "a.pgm", 4, 4, 20);
  write_pgm(fs::path(dir.path()) / "cat" / "c.pgm", 4, 4, 30);
  write_text(fs::path(dir.path()) / "cat" / "notes.txt", "not an image");
  auto dataset = open_dataset("folder:" + dir.path());
  ASSERT_EQ(dataset->size(), 3U);
  EXPECT_EQ(dataset->class_count(), 3);  // bee counts as a class even when empty
  EXPECT_EQ(dataset->class_names(), (std::vector<std::string>{"ant", "bee", "cat"}));
  EXPECT_EQ(dataset->sample_id(0), "ant/a.pgm");
  EXPECT_EQ(dataset->label(2), 2);
  EXPECT_EQ(dataset->decode(0).pixels.at(0), 20);
}

TEST(FolderDataset, EmptyLayoutsAreErrors) {
  TempDir dir("inferlab-folder");
  EXPECT_NE(error_of("folder:" + dir.path()).find("has no class sub-folders"), std::string::npos);
  fs::create_directories(fs::path(dir.path()) / "a");
  EXPECT_NE(error_of("folder:" + dir.path()).find("no images in the 1 class folders"), std::string::npos);
  EXPECT_NE(error_of("folder:/no/such/dir").find("no such directory"), std::string::npos);
  EXPECT_NE(error_of("folder:").find("give a directory"), std::string::npos);
  EXPECT_NE(error_of("mnist:/x").find("unknown dataset"), std::string::npos);
}

TEST(ImagenetDataset, ValTxtForm) {
  TempDir dir("inferlab-imagenet");
  const fs::path root(dir.path());
  write_pgm(root / "ILSVRC2012_val_00000002.JPEG", 8, 6, 1);
  write_pgm(root / "ILSVRC2012_val_00000001.JPEG", 8, 6, 2);
  write_text(root / "val.txt", "ILSVRC2012_val_00000002.JPEG 7\r\nILSVRC2012_val_00000001.JPEG 65\n\n");
  auto dataset = open_dataset("imagenet:" + dir.path());
  ASSERT_EQ(dataset->size(), 2U);
  EXPECT_EQ(dataset->class_count(), -1);
  EXPECT_EQ(dataset->sample_id(0), "ILSVRC2012_val_00000001.JPEG");
  EXPECT_EQ(dataset->label(0), 65);
  EXPECT_EQ(dataset->max_label_plus_one(), 66);
  EXPECT_EQ(dataset->decode(1).width, 8);
}

TEST(ImagenetDataset, KaggleFormWithLabelsAboveTheImages) {
  TempDir dir("inferlab-imagenet");
  const fs::path root(dir.path());
  const fs::path images = root / "ILSVRC" / "Data" / "CLS-LOC" / "val";
  fs::create_directories(images);
  write_pgm(images / "ILSVRC2012_val_00000001.JPEG", 4, 4, 1);
  write_pgm(images / "ILSVRC2012_val_00000002.JPEG", 4, 4, 1);
  write_text(root / "LOC_synset_mapping.txt", "n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n");
  write_text(root / "LOC_val_solution.csv",
             "ImageId,PredictionString\nILSVRC2012_val_00000002,n01440764 1 2 3 4 \n"
             "ILSVRC2012_val_00000001,n01443537 1 2 3 4 n01443537 5 6 7 8\n");
  auto dataset = open_dataset("imagenet:" + images.string());
  ASSERT_EQ(dataset->size(), 2U);
  EXPECT_EQ(dataset->class_count(), 2);
  EXPECT_EQ(dataset->class_names()[1], "goldfish");
  EXPECT_EQ(dataset->label(0), 1);
  EXPECT_EQ(dataset->label(1), 0);
}

TEST(ImagenetDataset, BadLayoutsNameTheProblem) {
  TempDir dir("inferlab-imagenet");
  const fs::path root(dir.path());
  EXPECT_NE(error_of("imagenet:" + dir.path()).find("contains no images"), std::string::npos);
  write_pgm(root / "a.JPEG", 4, 4, 1);
  EXPECT_NE(error_of("imagenet:" + dir.path()).find("no ground truth found"), std::string::npos);
  write_text(root / "val.txt", "a.JPEG 1\nb.JPEG 2\nc.JPEG 3\n");
  const std::string missing = error_of("imagenet:" + dir.path());
  EXPECT_NE(missing.find("names 2 of 3 files that are not in"), std::string::npos) << missing;
  EXPECT_NE(missing.find("first: b.JPEG"), std::string::npos) << missing;
  write_text(root / "val.txt", "a.JPEG one\n");
  EXPECT_NE(error_of("imagenet:" + dir.path()).find("line 1: expected 'FILENAME CLASS-INDEX'"), std::string::npos);
}

TEST(ImageDecoding, CorruptFilesDecodeEmpty) {
  TempDir dir("inferlab-corrupt");
  const fs::path root(dir.path());
  fs::create_directories(root / "x");
  write_text(root / "x" / "garbage.jpg", "this is not a jpeg at all");
  // A JPEG start-of-image marker and nothing after it: truncated.
  write_text(root / "x" / "truncated.jpg", std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00", 11));
  write_pgm(root / "x" / "good.pgm", 3, 3, 9);
  auto dataset = open_dataset("folder:" + dir.path());
  ASSERT_EQ(dataset->size(), 3U);
  int empty = 0;
  for (std::size_t i = 0; i < dataset->size(); ++i) empty += dataset->decode(i).empty();
  EXPECT_EQ(empty, 2);
  EXPECT_TRUE(has_image_extension("a/b/C.JPEG"));
  EXPECT_FALSE(has_image_extension("val.txt"));
}

}  // namespace
}  // namespace inferlab
