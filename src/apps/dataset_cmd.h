// The dataset subcommands of `seekforge data`: `tokenize` (a cleaned corpus into token shards
// and a manifest) and `stats` (per-domain counts of a dataset). The cleaning subcommands of
// `data` live elsewhere (data_cmd.h); both add themselves to the same `data` CLI::App.
#pragma once

#include <CLI/CLI.hpp>

namespace seekforge::apps {

// Adds `tokenize` and `stats` under `data` (the `seekforge data` subcommand).
void add_dataset_commands(CLI::App& data);
// True when the user chose one of the subcommands add_dataset_commands added.
bool dataset_command_selected();
// Runs it; returns the exit status (2 when none of them was chosen).
int run_dataset_command();

}  // namespace seekforge::apps
