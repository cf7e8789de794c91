// The engine's thread count. OpenMP runs every parallel kernel; the count comes from
// SEEKFORGE_THREADS (or --threads, which calls set_num_threads) and defaults to the core count.
#pragma once

namespace seekforge {

int num_threads();
void set_num_threads(int n);

}  // namespace seekforge
