#pragma once
// json_ref: an immutable JSON value shared by reference. Workflow inputs, step outputs and
// signal payloads (each up to k_payload_bytes_max) travel from the command into its event
// and into the workflow state as one shared value: `decide` works on a copy of the state
// (workflow_model.cpp, builder), which then copies pointers instead of every payload the
// workflow has gathered, and applying an event shares its payload with the state. Like
// definition_ref: never dangling, compares by content, default-constructed it is JSON null.
// The value is const once wrapped, so the entity's thread and a reader of an event on
// another thread may hold it at once.

#include <memory>
#include <type_traits>
#include <utility>

#include <boost/json/value.hpp>

namespace wfe::workflow {

class json_ref {
 public:
  json_ref() = default;
  // NOLINTNEXTLINE(google-explicit-constructor): a value becomes shared once, by move
  json_ref(boost::json::value v);
  // Anything a JSON value is made of (an object, array, string, number, nullptr).
  template <class T>
    requires(!std::is_same_v<std::remove_cvref_t<T>, json_ref> &&
             !std::is_same_v<std::remove_cvref_t<T>, boost::json::value> &&
             std::is_constructible_v<boost::json::value, T &&>)
  json_ref(T&& v)  // NOLINT(google-explicit-constructor)
      : json_ref(boost::json::value(std::forward<T>(v))) {}

  [[nodiscard]] const boost::json::value& get() const noexcept { return p_ ? *p_ : null(); }
  const boost::json::value& operator*() const noexcept { return get(); }
  const boost::json::value* operator->() const noexcept { return &get(); }
  // Reads as the value it holds (serialize, comparisons, functions taking a value).
  operator const boost::json::value&() const noexcept { return get(); }  // NOLINT

  friend bool operator==(const json_ref& a, const json_ref& b) {
    return a.p_ == b.p_ || a.get() == b.get();
  }

 private:
  static const boost::json::value& null() noexcept;
  std::shared_ptr<const boost::json::value> p_;  // null for JSON null
};

}  // namespace wfe::workflow
