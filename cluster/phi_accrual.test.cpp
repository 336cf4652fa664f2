#include "cluster/phi_accrual.hpp"

#include <doctest/doctest.h>

using namespace wfe::cluster;

TEST_CASE("phi grows with the time since the last heartbeat") {
  CHECK(phi_of(0, 1000, 100) < 0.001);
  CHECK(phi_of(1000, 1000, 100) == doctest::Approx(0.301).epsilon(0.01));  // half: -log10(0.5)
  CHECK(phi_of(1500, 1000, 100) > phi_of(1200, 1000, 100));
}

TEST_CASE(
    "regular heartbeats keep a node available, silence makes it suspected after about 5.5 s") {
  phi_accrual_detector fd;  // Pekko's defaults
  CHECK(fd.is_available(0));
  CHECK_FALSE(fd.is_monitoring());
  std::int64_t t = 0;
  for (int i = 0; i < 20; ++i, t += 1000) fd.heartbeat(t);
  auto last = t - 1000;
  CHECK(fd.is_available(last + 4000));
  CHECK(fd.phi(last + 4400) < 8.0);
  CHECK_FALSE(fd.is_available(last + 5000));
  CHECK(fd.phi(last + 6000) > 8.0);
}

TEST_CASE("the sample window is bounded by max-sample-size") {
  phi_settings s;
  s.max_sample_size = 10;
  phi_accrual_detector fd(s);
  for (int i = 0; i < 100; ++i) fd.heartbeat(i * 500);
  CHECK(fd.sample_count() == 10);
  CHECK(fd.mean_ms() == doctest::Approx(500));
}

TEST_CASE("a heartbeat after a long pause is not counted as a sample") {
  phi_accrual_detector fd;
  for (int i = 0; i < 5; ++i) fd.heartbeat(i * 1000);
  auto before = fd.sample_count();
  fd.heartbeat(60'000);
  CHECK(fd.sample_count() == before);
  CHECK(fd.is_available(60'500));
}

TEST_CASE("each node monitors its successors on the address ring, unreachable ones extra") {
  auto n = [](int i) {
    return unique_address{wfe::core::address{"s", "n" + std::to_string(i), 1}, 1};
  };
  std::vector<unique_address> ring{n(1), n(2), n(3), n(4), n(5)};
  CHECK(heartbeat_receivers(ring, n(4), 2, {}) == std::vector<unique_address>{n(5), n(1)});
  CHECK(heartbeat_receivers(ring, n(4), 2, {n(5)}) ==
        std::vector<unique_address>{n(5), n(1), n(2)});
  CHECK(heartbeat_receivers(ring, n(1), 9, {}).size() == 4);
  CHECK(heartbeat_receivers({n(1)}, n(1), 9, {}).empty());
}
