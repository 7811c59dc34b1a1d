// Shared by the parity tests: reading ort_reference.py's files and comparing
// run-llm's logits and greedy picks against them.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>
#include "engine/model.h"
#include <doctest/doctest.h>

namespace rllm::parity {


struct RefRow {
  std::vector<int32_t> prompt;
  std::vector<int32_t> tokens;               // greedy pick at each step
  std::vector<std::vector<float>> logits;    // [steps][vocab]
};

inline std::vector<RefRow> read_reference(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing reference " << path);
  auto i32 = [&] {
    int32_t v = 0;
    in.read(reinterpret_cast<char*>(&v), 4);
    return v;
  };
  std::vector<RefRow> rows(static_cast<size_t>(i32()));
  for (auto& r : rows) {
    r.prompt.resize(static_cast<size_t>(i32()));
    for (auto& id : r.prompt) id = i32();
    int32_t steps = i32(), vocab = i32();
    for (int32_t s = 0; s < steps; ++s) {
      r.tokens.push_back(i32());
      r.logits.emplace_back(static_cast<size_t>(vocab));
      in.read(reinterpret_cast<char*>(r.logits.back().data()), 4 * vocab);
    }
  }
  REQUIRE(in.good());
  return rows;
}

// max |a - b| / max |b|
inline double rel_error(const float* a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    num = std::max(num, static_cast<double>(std::fabs(a[i] - b[i])));
    den = std::max(den, static_cast<double>(std::fabs(b[i])));
  }
  return num / den;
}

// Margin between the best and second-best logit: below it, a different
// greedy pick is a tie, not a bug.
inline double top2_gap(const std::vector<float>& v) {
  float a = -INFINITY, b = -INFINITY;
  for (float x : v) {
    if (x > a) {
      b = a;
      a = x;
    } else if (x > b) {
      b = x;
    }
  }
  return a - b;
}

// Logits must agree within logit_tol (relative to the largest |logit|) for
// the first logit_steps steps. Greedy picks may differ only where that
// tolerance can flip them: where onnxruntime's top-2 gap is below twice the
// allowed absolute error.
struct Check {
  double logit_tol;
  int logit_steps;
  DType kv_dtype = DType::f32;
  // When > 0: greedy picks may differ only where the reference's two top
  // logits are closer than this (absolute), instead of the bound above.
  double tie_gap = 0;
  // When > 0: only the first `rows` of the reference's rows of each prompt (the prefill's,
  // then one per decode step) are run and compared.
  size_t rows = 0;
};

// Runs every reference row through one KV cache: each prompt prefilled alone,
// then all rows decoded together in one batch, teacher-forced with ORT's picks.
inline void compare(const std::string& model_dir, const std::string& ref_path, const Check& check) {
  auto rows = read_reference(ref_path);
  ModelOptions mo;
  mo.threads = 2;
  mo.kv_dtype = check.kv_dtype;
  auto model = Model::load(model_dir, mo);
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  KvCache cache((*model)->kv_config());
  std::vector<int> seqs;
  const size_t ref_steps = rows[0].tokens.size();
  const size_t steps = check.rows > 0 ? check.rows : ref_steps;
  REQUIRE_MESSAGE(steps <= ref_steps, ref_path << " holds " << ref_steps << " rows per prompt, " << steps << " asked");
  std::vector<double> worst(steps, 0.0);
  int greedy_same = 0, greedy_total = 0;
  // Teacher-forced with the reference's picks, the first step where ours
  // differs is where free-running greedy decoding would part.
  std::vector<int> first_split(rows.size(), -1);
  auto score = [&](size_t r, size_t s, const float* logits) {
    double e = rel_error(logits, rows[r].logits[s]);
    worst[s] = std::max(worst[s], e);
    if (static_cast<int>(s) < check.logit_steps)
      CHECK_MESSAGE(e <= check.logit_tol, "row " << r << " step " << s << ": relative logit error " << e);
    int64_t V = static_cast<int64_t>(rows[r].logits[s].size());
    int32_t ours = static_cast<int32_t>(std::max_element(logits, logits + V) - logits);
    ++greedy_total;
    if (ours == rows[r].tokens[s]) {
      ++greedy_same;
    } else {
      double max_abs = 0;
      for (float x : rows[r].logits[s]) max_abs = std::max(max_abs, static_cast<double>(std::fabs(x)));
      if (first_split[r] < 0) first_split[r] = static_cast<int>(s);
      double allowed = check.tie_gap > 0 ? check.tie_gap : 2 * check.logit_tol * max_abs;
      CHECK_MESSAGE(top2_gap(rows[r].logits[s]) < allowed,
                    "row " << r << " step " << s << ": greedy " << ours << " vs onnxruntime " << rows[r].tokens[s]);
    }
  };
  for (size_t r = 0; r < rows.size(); ++r) {
    REQUIRE(rows[r].tokens.size() == ref_steps);
    seqs.push_back(cache.new_sequence());
    // Odd rows ask for the last position alone (what generation does): the
    // lm_head then runs on one row per sequence and must still match.
    auto which = r % 2 ? Model::Logits::last : Model::Logits::all;
    auto logits = (*model)->forward(cache, {seqs.back()}, {rows[r].prompt}, which);
    REQUIRE_MESSAGE(logits.ok(), logits.status().message());
    CHECK(logits->dim(1) == (r % 2 ? 1 : static_cast<int64_t>(rows[r].prompt.size())));
    score(r, 0, logits->as<float>() + (logits->numel() - logits->dim(-1)));
  }
  for (size_t s = 1; s < steps; ++s) {
    std::vector<std::vector<int32_t>> next;
    for (const auto& row : rows) next.push_back({row.tokens[s - 1]});
    auto logits = (*model)->forward(cache, seqs, next);
    REQUIRE_MESSAGE(logits.ok(), logits.status().message());
    for (size_t r = 0; r < rows.size(); ++r) score(r, s, logits->as<float>() + static_cast<int64_t>(r) * logits->dim(-1));
  }
  std::string per_step;
  for (double w : worst) {
    per_step += ' ';
    per_step += std::to_string(w).substr(0, 8);
  }
  std::string splits;
  for (int f : first_split) splits += ' ' + (f < 0 ? std::string("none") : std::to_string(f));
  MESSAGE(model_dir << ": " << steps << " of the reference's " << ref_steps << " rows per prompt; worst relative logit error per step:" << per_step << "; greedy agreement " << greedy_same
                    << "/" << greedy_total << "; first differing step per row:" << splits);
}

inline bool present(const std::string& dir) {
  if (std::filesystem::exists(dir)) return true;
  MESSAGE("SKIPPED: " << dir << " is absent (scripts/fetch_models.sh makes it)");
  return false;
}

inline std::string cached(const std::string& name) {
  const char* env = std::getenv("RUNLLM_MODELS");
  const char* home = std::getenv("HOME");
  std::string root = env ? env : std::string(home ? home : "") + "/.cache/run-llm";
  return root + "/smollm2-135m-instruct/" + name;
}


}  // namespace rllm::parity
