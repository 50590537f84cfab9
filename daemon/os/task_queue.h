// TaskQueue: the callbacks EventLoop::Post queues, run in order.
//
// A posted callback is usually a small lambda (a state change carries ~120 bytes). As a
// std::function each one is a separate heap block, and a start of 1000 programs posts thousands
// of them between the allocations that stay (log sinks, pipes): once they run, their blocks are
// holes scattered through the heap that malloc_trim cannot give back. Here a callback up to
// kInline bytes lives inside the queue's one vector, which grows and is freed as a whole.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace warden {

// A move-only void() callable, stored inline when it fits in kInline bytes, on the heap else.
class InlineTask {
 public:
  static constexpr size_t kInline = 128;

  template <typename F, typename D = std::decay_t<F>,
            typename = std::enable_if_t<!std::is_same_v<D, InlineTask>>>
  explicit InlineTask(F&& fn) {
    if constexpr (sizeof(D) <= kInline && alignof(D) <= alignof(std::max_align_t) &&
                  std::is_nothrow_move_constructible_v<D>) {
      new (storage_) D(std::forward<F>(fn));
      ops_ = &kInlineOps<D>;
    } else {
      new (storage_) D*(new D(std::forward<F>(fn)));
      ops_ = &kHeapOps<D>;
    }
  }
  InlineTask(InlineTask&& other) noexcept : ops_(other.ops_) {
    if (ops_ != nullptr) ops_->move(storage_, other.storage_);
    other.ops_ = nullptr;
  }
  InlineTask& operator=(InlineTask&&) = delete;
  InlineTask(const InlineTask&) = delete;
  ~InlineTask() {
    if (ops_ != nullptr) ops_->destroy(storage_);
  }

  void operator()() { ops_->invoke(storage_); }

 private:
  struct Ops {
    void (*invoke)(void* self);
    void (*move)(void* to, void* from);  // move-constructs at `to`, destroys `from`
    void (*destroy)(void* self);
  };
  template <typename D>
  static constexpr Ops kInlineOps = {
      [](void* self) { (*static_cast<D*>(self))(); },
      [](void* to, void* from) {
        new (to) D(std::move(*static_cast<D*>(from)));
        static_cast<D*>(from)->~D();
      },
      [](void* self) { static_cast<D*>(self)->~D(); },
  };
  template <typename D>
  static constexpr Ops kHeapOps = {
      [](void* self) { (**static_cast<D**>(self))(); },
      [](void* to, void* from) { new (to) D*(*static_cast<D**>(from)); },
      [](void* self) { delete *static_cast<D**>(self); },
  };

  alignas(std::max_align_t) unsigned char storage_[kInline];
  const Ops* ops_ = nullptr;
};

class TaskQueue {
 public:
  // The capacity kept after a run; a burst beyond it is freed once it has run.
  static constexpr size_t kKeep = 64;

  template <typename F>
  void Push(F&& fn) {
    tasks_.emplace_back(std::forward<F>(fn));
  }
  bool empty() const { return head_ == tasks_.size(); }
  size_t size() const { return tasks_.size() - head_; }

  // Runs every task in order, those pushed meanwhile included, until none is left. A task may
  // push more, and may call RunAll itself (it then runs the rest).
  void RunAll() {
    while (head_ < tasks_.size()) {
      InlineTask task = std::move(tasks_[head_]);
      ++head_;
      task();
    }
    tasks_.clear();
    head_ = 0;
    if (tasks_.capacity() > kKeep) std::vector<InlineTask>().swap(tasks_);
  }

 private:
  std::vector<InlineTask> tasks_;
  size_t head_ = 0;  // tasks_[0, head_) have run
};

}  // namespace warden
