#include "analytics/behaviour/paths.h"

#include <algorithm>
#include <set>

namespace panorama::behaviour {

void PathCounter::AddCustomer(const std::vector<PathEvent>& events) {
  // Consecutive repeats of one event (a page reloaded, a list scrolled) are one step: they carry no
  // path information and would otherwise fill max_steps. The run keeps its first time.
  std::vector<const PathEvent*> collapsed;
  for (const auto& e : events) {
    if (collapsed.empty() || collapsed.back()->name != e.name)
      collapsed.push_back(&e);
  }
  bool started = false;
  std::set<std::vector<std::string>> mine;  // once per customer per distinct path
  for (size_t i = 0; i < collapsed.size(); ++i) {
    if (collapsed[i]->name != spec_.from_event)
      continue;
    started = true;
    Timestamp deadline = collapsed[i]->timestamp + spec_.window;
    std::vector<std::string> path{collapsed[i]->name};
    bool reached = spec_.to_event.empty();
    for (size_t j = i + 1; j < collapsed.size() && static_cast<int>(path.size()) <= spec_.max_steps;
         ++j) {
      if (collapsed[j]->timestamp > deadline)
        break;
      path.push_back(collapsed[j]->name);
      if (!spec_.to_event.empty() && collapsed[j]->name == spec_.to_event) {
        reached = true;
        break;
      }
    }
    if (reached && path.size() > 1)
      mine.insert(std::move(path));
  }
  if (started)
    ++total_;
  for (auto& path : mine) ++counts_[path];
}

PathsResult PathCounter::Finish() const {
  PathsResult result;
  result.total = total_;
  for (const auto& [steps, customers] : counts_) {
    result.paths.push_back(
        {steps, customers,
         total_ == 0 ? 0.0 : static_cast<double>(customers) / static_cast<double>(total_)});
  }
  // counts_ is ordered by steps, so a stable sort by customers keeps that as the tie-break.
  std::stable_sort(result.paths.begin(), result.paths.end(),
                   [](const PathRow& a, const PathRow& b) { return a.customers > b.customers; });
  if (static_cast<int>(result.paths.size()) > spec_.limit)
    result.paths.resize(static_cast<size_t>(spec_.limit));
  return result;
}

}  // namespace panorama::behaviour
