#pragma once
// Top event paths from one event (to another), counted in customers (docs/segments.md "Paths").

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/time.h"

namespace panorama::behaviour {

struct PathSpec {
  std::string from_event;
  std::string to_event;  // empty: paths are the next `max_steps` events, wherever they lead
  int max_steps = 5;     // events after from_event, to_event included
  int limit = 10;        // paths listed
  std::chrono::milliseconds window{7 * 24 *
                                   3'600'000LL};  // from the from_event occurrence, inclusive
};

struct PathEvent {
  Timestamp timestamp;
  std::string name;
};

struct PathRow {
  std::vector<std::string> steps;
  int64_t customers = 0;
  double share = 0;  // customers / total
};

struct PathsResult {
  std::vector<PathRow> paths;  // most customers first, then by steps
  int64_t total = 0;           // customers with at least one from_event
};

// Feeds customers one at a time. Not thread-safe.
class PathCounter {
 public:
  explicit PathCounter(PathSpec spec) : spec_(std::move(spec)) {}
  // One customer's events in (timestamp, id) order.
  void AddCustomer(const std::vector<PathEvent>& events);
  PathsResult Finish() const;

 private:
  PathSpec spec_;
  int64_t total_ = 0;
  std::map<std::vector<std::string>, int64_t> counts_;
};

}  // namespace panorama::behaviour
