#pragma once
// Sampling for the demo generator, written out by hand on top of std::mt19937_64. The engine's
// output sequence is fixed by the C++ standard, but std::uniform_real_distribution,
// std::gamma_distribution and the rest are not: libstdc++, libc++ and MSVC (and different versions
// of one of them) produce different values from the same engine, which would make "same seed ⇒ same
// demo data" false across machines. Only libm's log/exp/sqrt/cos remain, which are correctly
// rounded or nearly so on the platforms we build for.

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace panorama::demo::internal {

// SplitMix64 (Steele, Lea, Flood 2014): spreads consecutive integers into unrelated 64-bit seeds.
inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t Next() { return engine_(); }

  // [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  // Integer in [lo, hi]. Plain modulo: the bias is below 2^-40 for the small ranges used here.
  int64_t UniformInt(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(engine_() % static_cast<uint64_t>(hi - lo + 1));
  }

  bool Bernoulli(double p) { return Uniform() < p; }

  // Exponential with the given rate (mean 1/rate), by inversion.
  double Exponential(double rate) { return -std::log1p(-Uniform()) / rate; }

  // Standard normal by the Box–Muller transform (one value per call; the pair's second half is
  // dropped to keep the stream position independent of call history).
  double Normal() {
    double u1 = 1.0 - Uniform();  // (0, 1]
    double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  // Gamma(shape k, scale θ), mean kθ: Marsaglia & Tsang, "A simple method for generating gamma
  // variables" (ACM TOMS 26(3), 2000); for k < 1, Gamma(k+1)·U^(1/k).
  double Gamma(double shape, double scale) {
    if (shape < 1.0) {
      double u = 1.0 - Uniform();
      return Gamma(shape + 1.0, scale) * std::pow(u, 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    while (true) {
      double x = Normal();
      double v = 1.0 + c * x;
      if (v <= 0.0) {
        continue;
      }
      v = v * v * v;
      double u = 1.0 - Uniform();
      if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) {
        return d * v * scale;
      }
    }
  }

  // Beta(a, b) as X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b).
  double Beta(double a, double b) {
    double x = Gamma(a, 1.0);
    double y = Gamma(b, 1.0);
    return x / (x + y);
  }

  // Poisson(mean): Knuth's multiplication method below 30, a rounded normal approximation above
  // (only used for counts where the difference does not matter).
  int64_t Poisson(double mean) {
    if (mean <= 0) {
      return 0;
    }
    if (mean < 30.0) {
      const double limit = std::exp(-mean);
      int64_t k = 0;
      double p = Uniform();
      while (p > limit) {
        ++k;
        p *= Uniform();
      }
      return k;
    }
    double x = std::round(mean + std::sqrt(mean) * Normal());
    return x < 0 ? 0 : static_cast<int64_t>(x);
  }

  // Index drawn with probability proportional to weights, given their running sums (last = total).
  size_t Pick(const std::vector<double>& cumulative) {
    double target = Uniform() * cumulative.back();
    size_t lo = 0;
    size_t hi = cumulative.size() - 1;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (cumulative[mid] > target) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  template <typename T, size_t N>
  const T& PickUniform(const T (&items)[N]) {
    return items[static_cast<size_t>(engine_() % N)];
  }

 private:
  std::mt19937_64 engine_;
};

// Running sums of `weights` for Rng::Pick.
inline std::vector<double> Cumulative(const std::vector<double>& weights) {
  std::vector<double> out;
  out.reserve(weights.size());
  double total = 0;
  for (double w : weights) {
    total += w;
    out.push_back(total);
  }
  return out;
}

}  // namespace panorama::demo::internal
