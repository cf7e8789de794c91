#include "ops/rope.h"

#include <map>
#include <mutex>
#include <utility>

#include "autograd/node.h"
#include "kernels/rope.h"
#include "ops/common.h"

namespace seekforge::ops {

using autograd::record;
using Saved = std::vector<Tensor>;
using Grads = std::vector<Tensor>;

namespace {

// cos/sin tables by (start position, length, rotated dims, theta, dtype). A training step asks
// for the same few tables in every layer (q and k, forward); building one costs T * rot_dim / 2
// pow/cos/sin calls, more than the rotation itself. Entries are never written after they are
// built, so handing the same tensors to several nodes is safe. Decoding asks for a new start
// position every token: the cache is emptied when it reaches kMaxEntries.
struct TableKey {
  int64_t start_pos, T, rot_dim;
  double theta;
  DType dtype;
  auto operator<=>(const TableKey&) const = default;
};

std::pair<Tensor, Tensor> rope_tables(const TableKey& key) {
  constexpr size_t kMaxEntries = 64;
  static std::mutex mutex;
  static std::map<TableKey, std::pair<Tensor, Tensor>> cache;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  Tensor cos = empty({key.T, key.rot_dim / 2}, key.dtype);
  Tensor sin = empty({key.T, key.rot_dim / 2}, key.dtype);
  dispatch_float(key.dtype, "rope", [&](auto zero) {
    using Tp = decltype(zero);
    kernels::rope_tables(cos.data<Tp>(), sin.data<Tp>(), key.start_pos, key.T, key.rot_dim,
                         key.theta);
  });
  std::lock_guard<std::mutex> lock(mutex);
  if (cache.size() >= kMaxEntries) cache.clear();
  cache.emplace(key, std::make_pair(cos, sin));
  return {cos, sin};
}

}  // namespace

Tensor rope(const Tensor& x, int64_t start_pos, double theta, int64_t rot_dim, int64_t offset) {
  const char* op = "rope";
  detail::check_float(x, op, "input");
  SF_CHECK(x.dim() == 4) << op << ": expected [B, T, H, head_dim], got " << x.describe();
  const int64_t B = x.size(0), T = x.size(1), H = x.size(2), hd = x.size(3);
  if (rot_dim == 0) rot_dim = hd - offset;
  SF_CHECK(rot_dim > 0 && rot_dim % 2 == 0 && offset >= 0 && offset + rot_dim <= hd)
      << op << ": rotated dims [" << offset << ", " << offset + rot_dim
      << ") must be an even-sized range inside head_dim " << hd;
  SF_CHECK(start_pos >= 0 && theta > 0) << op << ": start_pos " << start_pos << ", theta " << theta;
  Tensor y = x.clone();  // contiguous; dims outside the rotated range pass through
  const auto [cos, sin] = rope_tables({start_pos, T, rot_dim, theta, x.dtype()});
  dispatch_float(x.dtype(), op, [&](auto zero) {
    using Tp = decltype(zero);
    kernels::rope_forward(y.data<Tp>(), y.data<Tp>(), cos.data<Tp>(), sin.data<Tp>(), B, T, H, hd,
                          offset, rot_dim);
  });
  record("RopeBackward", {&y}, {x}, {cos, sin},
         [B, T, H, hd, offset, rot_dim](const Saved& s, Grads& g) {
           Tensor dy = g[0].contiguous();
           Tensor dx = dy.clone();
           dx.narrow(3, offset, rot_dim).zero_();
           dispatch_float(dy.dtype(), "RopeBackward", [&](auto zero) {
             using Tp = decltype(zero);
             kernels::rope_backward(dx.data<Tp>(), dy.data<Tp>(), s[0].data<Tp>(), s[1].data<Tp>(),
                                    B, T, H, hd, offset, rot_dim);
           });
           return Grads{dx};
         });
  return y;
}

}  // namespace seekforge::ops
