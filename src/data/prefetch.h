// Prefetching: a TokenSource wrapper that makes the next batch on a background thread while the
// caller's training step runs (data.prefetch = true).
//
// Determinism: the wrapper asks the wrapped source for exactly the batches the caller would
// have got, in order (a batch is made ahead only for the shape last asked for; a different shape
// throws the guess away and rewinds), so batches are identical with and without prefetching.
// state() is the wrapped source's state before the batch made ahead, i.e. the position of the
// caller, so checkpoints and set_state() keep the exact-resume contract.
//
// What this is not: a pool of workers or a queue deeper than one batch (a batch costs far less
// than a step; one ahead hides it).
//
// Thread safety: like every source, used by one thread at a time; the wrapped source is touched
// by the background thread only while a batch is being made, and never concurrently.
#pragma once

#include <memory>

#include "data/source.h"

namespace seekforge::data {

std::unique_ptr<TokenSource> make_prefetching(std::unique_ptr<TokenSource> inner);

}  // namespace seekforge::data
