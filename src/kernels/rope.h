// Rotary position embedding (rotate-half convention) on x laid out [B, T, H, head_stride]
// (row-major), applied to the sub-range [offset_in_head, offset_in_head + rot_dim) of each head:
// pairs (j, j + rot_dim/2) for j < rot_dim/2 are rotated by angle pos * theta^(-2j/rot_dim),
// pos = start_pos + t. Full-head RoPE is offset_in_head = 0, rot_dim = head_stride = hd; MLA's
// decoupled RoPE is offset_in_head = qk_nope_head_dim, rot_dim = qk_rope_head_dim.
//
// Not here: the attention itself, position ids other than start_pos + t, or RoPE scaling
// variants (YaRN, NTK); a caller with those builds its own cos/sin tables.
// Templates for float and double; OpenMP over (b, t) rows; elementwise, so deterministic.
#pragma once

#include <cstdint>

namespace seekforge::kernels {

// cos, sin [T, rot_dim/2] (out): cos/sin((start_pos + t) * theta^(-2j/rot_dim)), computed in
// double and rounded once. rot_dim must be even.
template <typename T>
void rope_tables(T* cos, T* sin, int64_t start_pos, int64_t T_len, int64_t rot_dim, double theta);

// y (out), x: [B, T, H, head_stride], only elements [offset_in_head, offset_in_head + rot_dim) of
// each head are read and written (others in y are left untouched); y may equal x (in place).
// cos, sin [T, rot_dim/2] from rope_tables.
//   y_j        = x_j cos - x_{j+h} sin
//   y_{j+h}    = x_{j+h} cos + x_j sin          (h = rot_dim / 2)
template <typename T>
void rope_forward(T* y, const T* x, const T* cos, const T* sin, int64_t B, int64_t T_len, int64_t H,
                  int64_t head_stride, int64_t offset_in_head, int64_t rot_dim);

// dx (+=), dy: same layout as forward. The rotation is orthogonal, so the backward is the
// rotation by -angle: dx_j += dy_j cos + dy_{j+h} sin, dx_{j+h} += dy_{j+h} cos - dy_j sin.
template <typename T>
void rope_backward(T* dx, const T* dy, const T* cos, const T* sin, int64_t B, int64_t T_len,
                   int64_t H, int64_t head_stride, int64_t offset_in_head, int64_t rot_dim);

// Naive twins: compute the angle per element with std::pow / std::cos / std::sin in double,
// ignoring the tables (so they also test rope_tables).
template <typename T>
void rope_forward_naive(T* y, const T* x, int64_t start_pos, double theta, int64_t B, int64_t T_len,
                        int64_t H, int64_t head_stride, int64_t offset_in_head, int64_t rot_dim);
template <typename T>
void rope_backward_naive(T* dx, const T* dy, int64_t start_pos, double theta, int64_t B,
                         int64_t T_len, int64_t H, int64_t head_stride, int64_t offset_in_head,
                         int64_t rot_dim);

}  // namespace seekforge::kernels
