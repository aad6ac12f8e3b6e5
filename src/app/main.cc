#include "cli/cli.h"

int main(int argc, char** argv) { return panorama::cli::Run(argc, argv); }
