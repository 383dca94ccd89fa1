// Unit tests for the rPPG building blocks: each checks a number that would be
// wrong if the component were (the peak of a known sinusoid, the truth of the
// synthetic source, the face the cascade must find, the contract's formula).
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

#include "inferlab/bounded_queue.h"
#include "inferlab/error.h"
#include "inferlab/face_tracker.h"
#include "inferlab/frame_source.h"
#include "inferlab/latency_histogram.h"
#include "inferlab/rppg.h"
#include "inferlab/rppg_model.h"

namespace inferlab {
namespace {

constexpr double kTwoPi = 2 * std::numbers::pi;

TEST(LatencyHistogram, PercentilesWithinOneBin) {
  LatencyHistogram h;
  for (int i = 1; i <= 1000; ++i) h.add(i * 0.01);  // 0.01 .. 10 ms
  EXPECT_EQ(h.count(), 1000);
  EXPECT_NEAR(h.percentile_ms(0.5), 5.0, 5.0 * 0.02);
  EXPECT_NEAR(h.percentile_ms(0.99), 9.9, 9.9 * 0.02);
  EXPECT_NEAR(h.mean_ms(), 5.005, 1e-9);
  EXPECT_NEAR(h.percentile_ms(0.9), 9.0, 9.0 * 0.02);
  EXPECT_DOUBLE_EQ(h.max_ms(), 10.0);  // exact, not a bin centre
  h.reset();
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.percentile_ms(0.5), 0);
  EXPECT_EQ(h.max_ms(), 0);
}

TEST(BoundedQueue, RefusesWhenFullAndDrainsAfterClose) {
  BoundedQueue<int> q(2);
  EXPECT_TRUE(q.try_push(1));
  EXPECT_TRUE(q.try_push(2));
  EXPECT_FALSE(q.try_push(3));
  q.close();
  EXPECT_FALSE(q.push(4));
  EXPECT_EQ(q.pop().value(), 1);
  EXPECT_EQ(q.pop().value(), 2);
  EXPECT_FALSE(q.pop().has_value());
}

TEST(WelchBpm, FindsTheRateOfANoisySinusoid) {
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0, 0.5);
  for (double bpm : {45.0, 72.0, 150.0}) {
    std::vector<double> pulse;
    for (int i = 0; i < 300; ++i) pulse.push_back(std::sin(kTwoPi * bpm / 60 * i / 30.0) + noise(rng));
    auto reading = welch_bpm(normalise_pulse(pulse), 30);
    ASSERT_TRUE(reading.has_value());
    EXPECT_NEAR(reading->bpm, bpm, 1.0) << bpm;
    EXPECT_GT(reading->snr_db, 0) << bpm;
  }
}

TEST(WelchBpm, NoiseHasLowSnrAndShortWindowsNoReading) {
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> pulse;
  for (int i = 0; i < 300; ++i) pulse.push_back(noise(rng));
  EXPECT_LT(welch_bpm(pulse, 30)->snr_db, 0);
  EXPECT_FALSE(welch_bpm(std::vector<double>(90, 0.0), 30).has_value());
}

// Skin colour with a blood-volume pulse and a strong illumination swing:
// POS and CHROM must cancel the swing, which sits below the band anyway, and
// find the pulse.
TEST(PulseExtractor, PosAndChromRecoverThePulseUnderLightChanges) {
  for (PulseMethod method : {PulseMethod::kPos, PulseMethod::kChrom, PulseMethod::kGreen}) {
    PulseExtractor extractor(method, 30);
    PulseWindowScheduler scheduler(10, 6, 1);
    std::optional<BpmEstimate> last;
    for (int i = 0; i < 450; ++i) {
      const double t = i / 30.0, light = 1 + 0.2 * std::sin(kTwoPi * 0.1 * t);
      const double p = 0.005 * std::sin(kTwoPi * 1.3 * t);
      const cv::Vec3d rgb(180 * light * (1 + 0.34 * p), 120 * light * (1 + p), 100 * light * (1 + 0.67 * p));
      extractor.add_colour(t, rgb, true);
      if (auto w = scheduler.after_frame(extractor, t, 78.0)) last = estimate_bpm(*w);
    }
    ASSERT_TRUE(last && last->bpm) << pulse_method_name(method);
    EXPECT_NEAR(*last->bpm, 78.0, 1.0) << pulse_method_name(method);
    EXPECT_NEAR(*last->truth_bpm, 78.0, 1e-9);
  }
}

TEST(PulseExtractor, NoFaceMeansNoReadingAndGapsAreFilled) {
  PulseExtractor extractor(PulseMethod::kPos, 30);
  PulseWindowScheduler scheduler(10, 6, 1);
  std::optional<BpmEstimate> last;
  for (int i = 0; i < 300; ++i) {
    extractor.add_colour(i / 30.0, cv::Vec3d(100, 100, 100), false);
    if (auto w = scheduler.after_frame(extractor, i / 30.0, std::nullopt)) last = estimate_bpm(*w);
  }
  ASSERT_TRUE(last.has_value());
  EXPECT_FALSE(last->bpm.has_value());
  EXPECT_NE(last->unavailable_reason.find("no face"), std::string::npos);
  PulseExtractor gaps(PulseMethod::kGreen, 30);
  gaps.add_colour(0.0, cv::Vec3d(0, 10, 0), true);
  gaps.add_colour(0.1, cv::Vec3d(0, 40, 0), true);  // two frames dropped in between
  ASSERT_EQ(gaps.size(), 4u);
  EXPECT_NEAR(gaps.recent(4)[1], 20, 1e-9);
  EXPECT_NEAR(gaps.recent(4)[2], 30, 1e-9);
}

TEST(SyntheticSource, GroundTruthSizeAndDeterminism) {
  SyntheticOptions o = parse_synthetic_options("bpm=90,drift=0.1,size=320x240,fps=25,duration=2,seed=4,noise=2");
  EXPECT_EQ(o.width, 320);
  auto a = make_synthetic_source(o), b = make_synthetic_source(o);
  Frame fa, fb;
  int frames = 0;
  while (a->next(fa)) {
    ASSERT_TRUE(b->next(fb));
    ASSERT_EQ(fa.bgr.size(), cv::Size(320, 240));
    EXPECT_EQ(cv::norm(fa.bgr, fb.bgr, cv::NORM_INF), 0) << "same seed, different frame " << frames;
    const double want = 90 * (1 + 0.1 * std::sin(kTwoPi * fa.t_s / 60));
    EXPECT_NEAR(*fa.truth_bpm, want, 1e-9);
    ++frames;
  }
  EXPECT_EQ(frames, 50);
  EXPECT_THROW(parse_synthetic_options("bpm=500"), Error);
  EXPECT_THROW(parse_synthetic_options("colour=red"), Error);
  EXPECT_THROW(open_frame_source("camera:x"), Error);
  EXPECT_THROW(open_frame_source("webcam:0"), Error);
}

TEST(FaceTracker, FindsTheSyntheticFaceAndNothingWithoutOne) {
  auto with_face = make_synthetic_source(parse_synthetic_options("motion=1,seed=2"));
  auto without = make_synthetic_source(parse_synthetic_options("face=0"));
  FaceTracker tracker, empty_tracker;
  Frame f;
  int found = 0;
  for (int i = 0; i < 60; ++i) {
    with_face->next(f);
    auto obs = tracker.update(f.bgr);
    if (!obs.face) continue;
    ++found;
    // The face sits in the middle third of the frame, a quarter to two thirds of its height.
    const cv::Point c = (obs.face->tl() + obs.face->br()) / 2;
    EXPECT_GT(c.x, f.bgr.cols / 4);
    EXPECT_LT(c.x, f.bgr.cols * 3 / 4);
    EXPECT_GT(obs.face->height, f.bgr.rows / 4);
    EXPECT_TRUE(skin_colour(f.bgr, *obs.face).valid);
  }
  EXPECT_GE(found, 58);
  for (int i = 0; i < 20; ++i) {
    without->next(f);
    EXPECT_FALSE(empty_tracker.update(f.bgr).face.has_value());
  }
}

TEST(RppgContract, InputFollowsTheFormula) {
  cv::Mat prev(kRppgCropSide, kRppgCropSide, CV_32FC3, cv::Scalar(0.4, 0.5, 0.6));
  cv::Mat cur = prev.clone();
  cur.at<cv::Vec3f>(3, 5) = cv::Vec3f(0.5f, 0.5f, 0.6f);
  Tensor input(DType::kFloat32, {1, 6, kRppgCropSide, kRppgCropSide});
  fill_rppg_input(prev, cur, input);
  const float* d = input.data_as<float>();
  const int plane = kRppgCropSide * kRppgCropSide, at = 3 * kRppgCropSide + 5;
  EXPECT_NEAR(d[at], 100 * 0.1 / (0.9 + 1e-3), 1e-3);  // channel 0 (R) motion at the changed pixel
  EXPECT_NEAR(d[plane + at], 0, 1e-6);                 // channel 1 (G) unchanged
  double mean = 0;
  for (int i = 3 * plane; i < 6 * plane; ++i) mean += d[i];
  EXPECT_NEAR(mean / (3 * plane), 0, 1e-4);  // appearance is standardised
}

}  // namespace
}  // namespace inferlab
