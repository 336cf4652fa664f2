#pragma once
// `overloaded{lambdas...}`: one visitor for std::visit from several lambdas.

namespace wfe::core {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace wfe::core
