// The ecostat command's subcommands, each registered on the CLI11 app by its own file.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace ecostat::cli {

// Each returns the action to run when its subcommand was chosen; the action returns the exit code.
std::function<int()> add_run_command(CLI::App& app);
std::function<int()> add_backends_command(CLI::App& app);

}  // namespace ecostat::cli
