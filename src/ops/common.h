// Small helpers shared by the op files: argument checks that name the op, and views of a
// tensor as rows for the row kernels.
#pragma once

#include "core/tensor.h"

namespace seekforge::ops::detail {

inline void check_float(const Tensor& t, const char* op, const char* what) {
  SF_CHECK(t.defined()) << op << ": " << what << " is undefined";
  SF_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64)
      << op << ": " << what << " must be f32 or f64, got " << t.describe();
}

inline void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  SF_CHECK(a.dtype() == b.dtype()) << op << ": dtypes differ: " << a.describe() << " and "
                                   << b.describe();
}

}  // namespace seekforge::ops::detail
