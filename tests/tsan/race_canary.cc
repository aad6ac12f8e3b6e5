// R13: a deliberate data race. scripts/tsan.sh runs this first and requires ThreadSanitizer to report it, so a
// TSan stage that silently stopped detecting races (instrumentation missing, flags lost) fails instead of
// passing green. Built only with PANORAMA_TSAN; never part of ctest.

#include <thread>

namespace {
int counter = 0;  // written by two threads without synchronisation: the race TSan must find
}  // namespace

int main() {
  std::thread other([] { ++counter; });
  ++counter;
  other.join();
  return 0;
}
