#include "engine/core/loop_dispatcher.hpp"

#include <algorithm>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

namespace wfe::core {

void loop_dispatcher::guest_unit::exec_later(caf::resumable* r) { system().scheduler().enqueue(r); }

loop_dispatcher::loop_dispatcher(caf::actor_system& sys, std::size_t throughput)
    : sys_(sys),
      throughput_(std::max<std::size_t>(1, throughput)),
      home_(sys, *this),
      guest_(sys) {}

loop_dispatcher::~loop_dispatcher() { detach(); }

void loop_dispatcher::attach(post_fn post) {
  const std::lock_guard lock(mu_);
  post_ = std::move(post);
}

void loop_dispatcher::detach() {
  std::vector<caf::resumable*> rest;
  {
    const std::lock_guard lock(mu_);
    post_ = nullptr;
    drain_posted_ = false;
    rest.swap(queue_);
  }
  for (auto* r : rest) sys_.scheduler().enqueue(r);
}

void loop_dispatcher::schedule(caf::resumable* r) {
  std::unique_lock lock(mu_);
  if (!post_) {
    lock.unlock();
    sys_.scheduler().enqueue(r);
    return;
  }
  queue_.push_back(r);
  if (drain_posted_) return;
  drain_posted_ = true;
  // Under the lock: detach() cannot slip in between and leave this actor queued with no
  // drain to come. post() never runs the handler inline.
  post_([this] { drain(); });
}

void loop_dispatcher::drain() {
  std::vector<caf::resumable*> batch;
  {
    const std::lock_guard lock(mu_);
    batch.swap(queue_);
    drain_posted_ = false;
  }
  for (auto* r : batch) run(r);
}

void loop_dispatcher::run(caf::resumable* r) {
  switch (r->resume(&guest_, throughput_)) {
    case caf::resumable::resume_later:
      schedule(r);  // keeps its reference: behind the others, in the next drain
      return;
    case caf::resumable::done:
    case caf::resumable::awaiting_message:
    case caf::resumable::shutdown_execution_unit:
      caf::intrusive_ptr_release(r);
      return;
  }
}

}  // namespace wfe::core
