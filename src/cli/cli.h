#pragma once
// The `panorama` command line: serve, demo, import, export, user, key. Each command has --help.

namespace panorama::cli {

// Parses arguments and runs the command; returns the process exit code (0 success, 1 failure, 2 usage).
int Run(int argc, char** argv);

}  // namespace panorama::cli
