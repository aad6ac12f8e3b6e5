#pragma once
// `panorama cohorts`, `panorama funnel`, `panorama paths`: behaviour analytics printed as text
// tables (docs/segments.md). Kept apart from cli.cc so that file only registers and dispatches.

#include <functional>
#include <memory>

namespace CLI {
class App;
}

namespace panorama::app {
struct RuntimeOptions;
}

namespace panorama::cli {

class BehaviourCommands {
 public:
  // Adds the three sub-commands to `cli`; `add_data` adds the shared --data/--master-key options.
  BehaviourCommands(CLI::App& cli, const std::function<void(CLI::App*)>& add_data);
  ~BehaviourCommands();

  bool parsed() const;
  // Opens the runtime, runs the parsed command, prints its table; the process exit code.
  int Run(const app::RuntimeOptions& options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace panorama::cli
