// Fused causal attention (flash-attention style): forward and backward on raw pointers.
//
// This is the kernel the attention op calls; it is not the op (no Tensor, no autograd, no shape
// checks: callers check) and it does not apply RoPE, projections or dropout.
//
// Dimension letters used below:
//   B   batch                    Tq  query positions        Tk  key positions
//   H   query heads              KV  key/value heads (GQA)  Dqk query/key head dim
//   Dv  value head dim (may differ from Dqk, as in multi-head latent attention: 48 vs 32)
//
// Layout (all row-major, contiguous; q is exactly a projection output viewed as [B,T,H,hd]):
//   q   [B, Tq, H,  Dqk]      k [B, Tk, KV, Dqk]      v [B, Tk, KV, Dv]
//   out [B, Tq, H,  Dv]       lse [B, H, Tq]          key_keep [B, Tk] or nullptr
// except that forward may read k and v from a buffer holding kv_rows >= Tk positions per batch
// row (a KV cache of fixed capacity filled up to Tk): row j of batch b is then at
// (b * kv_rows + j) * KV, so decoding never copies the cache.
//
// Semantics:
// - GQA: H % KV == 0; query head h reads key/value head h / (H / KV).
// - Queries are aligned to the end of the keys: query i sits at absolute position
//   p = Tk - Tq + i (Tq == Tk is training; Tq < Tk is decoding against a KV cache).
// - Causal: a query at position p sees keys j <= p. Sliding window W > 0: it sees keys
//   p-W+1 .. p only. W = 0: full causal.
// - key_keep (optional): nonzero means key j of batch row b may be attended.
// - Scores are s_j = scale * <q, k_j> (scale is usually 1/sqrt(Dqk)), softmax over the visible
//   keys, out = sum_j softmax_j * v_j.
// - lse[b,h,i] = log(sum over visible j of exp(s_j)): what backward needs to rebuild the
//   probabilities without storing them.
// - A query that sees no key at all (everything masked, or p < 0 when Tq > Tk) gets out = 0,
//   lse = -inf, and zero gradient; no NaN is produced anywhere.
//
// Backward uses the standard recomputation: D_i = <dout_i, out_i>; P = exp(S*scale - lse);
// dP = dout V^T; dS = P * (dP - D); dq += scale * dS K; dk += scale * dS^T Q; dv += P^T dout.
// It ACCUMULATES (+=) into dq, dk, dv, which the caller zeroes.
//
// Cost: both directions work tile by tile (a block of queries times a block of keys, online
// softmax in forward) and never hold a Tq x Tk matrix; tiles (and tile rows) the causal/window
// mask hides entirely are skipped, so the work follows the visible (query, key) pairs: at
// T=1024, W=256 sees 44% of the causal pairs and costs ~53% of full causal (a quarter of
// unmasked attention); only diagonal and window-edge tiles compute hidden entries.
// Memory: forward allocates nothing, backward one [B, H, Tq] array (D); each thread uses fixed
// stack tiles (about 150 KB for float, 300 KB for double). Head dims up to kAttentionMaxHeadDim
// take the tiled path, larger ones fall back to the naive twin (correct, slow, allocates a row
// of scores).
//
// Threads: OpenMP. Forward runs (b, h, query block) tasks in parallel; backward runs one task
// per (b, kv head) that owns all of its dq, dk and dv rows, so there are no races. When B*KV is
// below the thread count, backward switches to two passes (dk/dv per key block, then dq per
// query block; ~40% more arithmetic, all threads busy). Every output element is summed in one
// fixed order either way, so results are bitwise identical run to run and independent of the
// thread count.
//
// Types: float (AVX-512 micro-kernels and a vectorised exp when compiled with AVX-512) and
// double (the same tiling on plain loops; used by float64 gradient checks).
#pragma once

#include <cstdint>

namespace seekforge::kernels {

// Sizes of one attention call. window = 0 means full causal.
struct AttentionShape {
  int64_t B = 0;
  int64_t Tq = 0;
  int64_t Tk = 0;
  int64_t H = 0;
  int64_t KV = 0;
  int64_t Dqk = 0;
  int64_t Dv = 0;
  int64_t window = 0;
  // Key/value positions allocated per batch row (forward only; backward takes kv_rows == Tk).
  // 0 means Tk.
  int64_t kv_rows = 0;
  int64_t key_rows() const { return kv_rows > 0 ? kv_rows : Tk; }
};

// Largest Dqk / Dv handled by the tiled kernels (their per-thread tiles live on the stack).
inline constexpr int64_t kAttentionMaxHeadDim = 256;

// out [B,Tq,H,Dv], lse [B,H,Tq] <- q [B,Tq,H,Dqk], k [B,Tk,KV,Dqk], v [B,Tk,KV,Dv],
// key_keep [B,Tk] or nullptr.
template <typename T>
void attention_forward(T* out, T* lse, const T* q, const T* k, const T* v, const uint8_t* key_keep,
                       T scale, const AttentionShape& s);

// dq [B,Tq,H,Dqk], dk [B,Tk,KV,Dqk], dv [B,Tk,KV,Dv] += gradients, given dout [B,Tq,H,Dv] and
// the forward's inputs and outputs (out, lse).
template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                        const T* out, const T* lse, const uint8_t* key_keep, T scale,
                        const AttentionShape& s);

// Naive twins: one query row at a time, the row's scores materialised, double accumulation,
// single-threaded. The test oracle and the fallback for very large head dims.
template <typename T>
void attention_forward_naive(T* out, T* lse, const T* q, const T* k, const T* v,
                             const uint8_t* key_keep, T scale, const AttentionShape& s);

template <typename T>
void attention_backward_naive(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k,
                              const T* v, const T* out, const T* lse, const uint8_t* key_keep,
                              T scale, const AttentionShape& s);

}  // namespace seekforge::kernels
