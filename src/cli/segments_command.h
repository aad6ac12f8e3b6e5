#pragma once
// `panorama segments list|show|create|delete|evaluate|export`: saved segments from the command line.

#include <functional>
#include <memory>

namespace CLI {
class App;
}
namespace panorama::app {
struct RuntimeOptions;
}

namespace panorama::cli {

class SegmentsCommand {
 public:
  // Adds the command and its sub-commands to `cli`; `add_data` adds the shared --data/--master-key options.
  SegmentsCommand(CLI::App& cli, const std::function<void(CLI::App*)>& add_data);
  ~SegmentsCommand();
  bool parsed() const;
  // Runs the parsed sub-command; the process exit code.
  int Run(const app::RuntimeOptions& options);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace panorama::cli
