#pragma once
// `panorama role …`, `panorama team …` and `panorama user access …`: custom roles, teams and a staff member's
// role and team from the command line, through the same AccessPolicy the API uses (so the same validation and
// the same ledger entries, with actor "cli"). Kept apart from cli.cc so that file only registers and dispatches.

#include <functional>
#include <memory>

namespace CLI {
class App;
}

namespace panorama::app {
struct RuntimeOptions;
}

namespace panorama::cli {

class AccessCommands {
 public:
  // Adds `role` and `team` to `cli` and `access` to the existing `user` command; `add_data` adds the shared
  // --data/--master-key options.
  AccessCommands(CLI::App& cli, CLI::App& user, const std::function<void(CLI::App*)>& add_data);
  ~AccessCommands();

  bool parsed() const;
  // Opens the runtime, runs the parsed command, prints its result; the process exit code.
  int Run(const app::RuntimeOptions& options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace panorama::cli
