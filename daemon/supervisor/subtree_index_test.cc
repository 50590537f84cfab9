#include "daemon/supervisor/subtree_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "daemon/supervisor/test_procs.h"

namespace warden {
namespace {

constexpr int kSelf = 1000;

using testing::Proc;

// A machine's process table and its pid allocation, as the index reads them.
class FakeProc {
 public:
  explicit FakeProc(int pid_max = 32768) : pid_max_(pid_max), last_(2000) {}

  // Forks a process under `ppid` at the next free pid; its start time is a new tick.
  int Fork(int ppid, bool visible = true) {
    int pid = last_;
    do {
      pid = pid + 1 >= pid_max_ ? SubtreeIndex::kReservedPids : pid + 1;
    } while (table_.count(pid) != 0 || hidden_.count(pid) != 0);
    last_ = pid;
    ++forks_;
    os::ProcStat ps = Proc(pid, ppid, pid, ++ticks_);
    if (visible) {
      table_[pid] = ps;
    } else {
      hidden_[pid] = ps;
    }
    return pid;
  }
  int Thread(int of) {
    const int tid = Fork(table_.at(of).ppid);
    table_[tid].thread = true;
    return tid;
  }
  void Show(int pid) {
    table_[pid] = hidden_.at(pid);
    hidden_.erase(pid);
  }
  // The process exits and is reaped; its children go to wardend, as to a subreaper.
  void Exit(int pid) {
    table_.erase(pid);
    for (auto& [child, ps] : table_) {
      if (ps.ppid == pid) ps.ppid = kSelf;
    }
  }
  os::PidCursor Cursor() const {
    return os::PidCursor{last_, static_cast<uint64_t>(table_.size()), forks_, pid_max_};
  }
  os::StatReader Reader() {
    return [this](int pid) -> std::optional<os::ProcStat> {
      ++reads_;
      auto it = table_.find(pid);
      if (it == table_.end()) return std::nullopt;
      return it->second;
    };
  }
  std::vector<os::ProcStat> Snapshot() const {
    std::vector<os::ProcStat> out;
    for (const auto& [pid, ps] : table_) {
      if (!ps.thread) out.push_back(ps);
    }
    return out;
  }
  const os::ProcStat& At(int pid) const { return table_.at(pid); }
  void SetLast(int last) { last_ = last; }
  size_t reads_ = 0;

 private:
  int pid_max_;
  int last_;
  uint64_t forks_ = 0;
  uint64_t ticks_ = 0;
  std::map<int, os::ProcStat> table_;
  std::map<int, os::ProcStat> hidden_;  // allocated, not in /proc yet
};

// The main processes: an anchor says which pids are, with their start times.
struct Mains {
  std::set<int> pids;
  SubtreeIndex::Anchor Anchor() const {
    return [this](int pid) -> std::optional<uint64_t> {
      if (pid == kSelf || pids.count(pid) != 0) return 0;
      return std::nullopt;
    };
  }
};

std::vector<int> Sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class SubtreeIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    machine_.Fork(1);  // someone else's
    main_a_ = machine_.Fork(kSelf);
    main_b_ = machine_.Fork(kSelf);
    mains_.pids = {main_a_, main_b_};
    child_a_ = machine_.Fork(main_a_);
  }
  void Reset() {
    index_.Reset(machine_.Cursor(), machine_.Snapshot(), machine_.Reader(), mains_.Anchor());
  }
  bool Advance(size_t max_range = 4096) {
    return index_.Advance(machine_.Cursor(), machine_.Reader(), mains_.Anchor(), max_range);
  }

  FakeProc machine_;
  Mains mains_;
  SubtreeIndex index_{kSelf};
  int main_a_ = 0, main_b_ = 0, child_a_ = 0;
};

TEST_F(SubtreeIndexTest, TheFirstLookAsksForAListing) {
  EXPECT_FALSE(Advance());
  Reset();
  EXPECT_TRUE(index_.valid());
  // The main processes and processes outside wardend's subtree are not entries.
  EXPECT_EQ(index_.size(), 1u);
  EXPECT_TRUE(index_.Contains(child_a_, machine_.At(child_a_).start_ticks));
  EXPECT_EQ(index_.Below({main_a_}), std::vector<int>{child_a_});
  EXPECT_TRUE(index_.Below({main_b_}).empty());
  EXPECT_TRUE(Advance());
}

TEST_F(SubtreeIndexTest, ReadsOnlyThePidsForkedSince) {
  Reset();
  for (int i = 0; i < 50; ++i) machine_.Fork(1);  // the machine's, not ours
  const int grandchild = machine_.Fork(child_a_);
  const int child_b = machine_.Fork(main_b_);
  machine_.reads_ = 0;
  ASSERT_TRUE(Advance());
  EXPECT_LE(machine_.reads_, 52u + SubtreeIndex::kSweep + 2);
  EXPECT_EQ(index_.size(), 3u);
  EXPECT_EQ(index_.Below({main_a_}), (std::vector<int>{child_a_, grandchild}));
  EXPECT_EQ(index_.Below({main_b_}), std::vector<int>{child_b});
  // Nothing forked: a look reads next to nothing.
  machine_.reads_ = 0;
  ASSERT_TRUE(Advance());
  EXPECT_LE(machine_.reads_, SubtreeIndex::kSweep);
}

TEST_F(SubtreeIndexTest, MainProcessesSpawnedSinceCostNoReading) {
  SubtreeIndex index(kSelf);
  FakeProc machine;
  Mains mains;
  index.Reset(machine.Cursor(), {}, machine.Reader(), mains.Anchor());  // a fresh start
  for (int i = 0; i < 1000; ++i) mains.pids.insert(machine.Fork(kSelf));
  const int leftover = machine.Fork(*mains.pids.begin());
  machine.reads_ = 0;
  ASSERT_TRUE(index.Advance(machine.Cursor(), machine.Reader(), mains.Anchor(), 4096));
  EXPECT_LE(machine.reads_, 1u + SubtreeIndex::kSweep);
  EXPECT_EQ(index.Below({*mains.pids.begin()}), std::vector<int>{leftover});
}

TEST_F(SubtreeIndexTest, ChildrenOfAReapedMainAreWardendsAndStillFound) {
  Reset();
  const int grandchild = machine_.Fork(child_a_);
  ASSERT_TRUE(Advance());
  // kill -9 of main A: its child is reparented to wardend; A is reaped.
  machine_.Exit(main_a_);
  mains_.pids.erase(main_a_);
  index_.ParentGone(main_a_);
  // A look for nobody's main process reads the loose ones and what is below them.
  EXPECT_EQ(index_.Below({}), (std::vector<int>{child_a_, grandchild}));
  EXPECT_TRUE(index_.Refresh(child_a_, machine_.At(child_a_), mains_.Anchor()));
  EXPECT_EQ(index_.ParentOf(child_a_), kSelf);
}

TEST_F(SubtreeIndexTest, ADoubleForkedDaemonReparentedToWardendIsFound) {
  Reset();
  // A daemon: child_a_ forks the daemon (indexed by a look), then exits; the daemon is
  // wardend's now.
  const int daemon = machine_.Fork(child_a_);
  const int worker = machine_.Fork(daemon);
  ASSERT_TRUE(Advance());
  machine_.Exit(child_a_);
  // child_a_'s pid was not reused: the index still has it, and the daemon below it.
  EXPECT_EQ(index_.Below({main_a_}), (std::vector<int>{child_a_, daemon, worker}));
  // The look reads them: child_a_ is gone, its child has an unknown parent, then wardend.
  EXPECT_FALSE(index_.Refresh(child_a_, std::nullopt, mains_.Anchor()));
  EXPECT_EQ(index_.ParentOf(daemon), 0);
  EXPECT_TRUE(index_.Refresh(daemon, machine_.At(daemon), mains_.Anchor()));
  EXPECT_EQ(index_.ParentOf(daemon), kSelf);
  EXPECT_EQ(index_.Below({}), (std::vector<int>{daemon, worker}));
}

TEST_F(SubtreeIndexTest, AForkWhoseParentExitedBeforeTheLookIsWardends) {
  Reset();
  const int middle = machine_.Fork(main_a_);
  const int leftover = machine_.Fork(middle);
  machine_.Exit(middle);  // before any look: the leftover shows with wardend as its parent
  ASSERT_TRUE(Advance());
  EXPECT_FALSE(index_.ParentOf(middle));
  EXPECT_EQ(index_.ParentOf(leftover), kSelf);
  EXPECT_EQ(index_.Below({}), std::vector<int>{leftover});
}

TEST_F(SubtreeIndexTest, AReusedPidNeverCounts) {
  Reset();
  // child_a_ exits and someone else's process gets its pid: a look reads it as it reads any
  // entry, and the start time tells it is not child_a_.
  const uint64_t old_start = machine_.At(child_a_).start_ticks;
  machine_.Exit(child_a_);
  machine_.SetLast(child_a_ - 1);
  ASSERT_EQ(machine_.Fork(1), child_a_);
  std::vector<int> below = index_.Below({main_a_});
  ASSERT_EQ(below, std::vector<int>{child_a_});
  EXPECT_FALSE(index_.Refresh(child_a_, machine_.Reader()(child_a_), mains_.Anchor()));
  EXPECT_FALSE(index_.Contains(child_a_, old_start));
  EXPECT_TRUE(index_.Below({main_a_}).empty());
}

TEST_F(SubtreeIndexTest, AnEntrysPidReusedInTheRangeIsTheNewProcess) {
  FakeProc machine(5000);
  Mains mains;
  const int main_a = machine.Fork(kSelf);
  const int main_b = machine.Fork(kSelf);
  mains.pids = {main_a, main_b};
  const int child = machine.Fork(main_a);
  machine.Fork(1);
  SubtreeIndex index(kSelf);
  index.Reset(machine.Cursor(), machine.Snapshot(), machine.Reader(), mains.Anchor());
  // The pid goes round (without the forks a lap takes: pids written to ns_last_pid, say) and
  // main B's new child gets the pid of main A's dead one.
  const uint64_t old_start = machine.At(child).start_ticks;
  machine.Exit(child);
  machine.SetLast(child - 1);
  ASSERT_EQ(machine.Fork(main_b), child);
  ASSERT_TRUE(index.Advance(machine.Cursor(), machine.Reader(), mains.Anchor(), 10000));
  EXPECT_FALSE(index.Contains(child, old_start));
  EXPECT_TRUE(index.Contains(child, machine.At(child).start_ticks));
  EXPECT_TRUE(index.Below({main_a}).empty());
  EXPECT_EQ(index.Below({main_b}), std::vector<int>{child});
}

TEST_F(SubtreeIndexTest, AWrapOfThePidsIsFollowed) {
  FakeProc machine(5000);
  machine.SetLast(4990);
  const int main = machine.Fork(kSelf);
  Mains mains;
  mains.pids = {main};
  SubtreeIndex index(kSelf);
  index.Reset(machine.Cursor(), machine.Snapshot(), machine.Reader(), mains.Anchor());
  std::vector<int> forked;
  for (int i = 0; i < 20; ++i) forked.push_back(machine.Fork(main));
  ASSERT_LT(forked.back(), 1000);  // wrapped
  ASSERT_TRUE(index.Advance(machine.Cursor(), machine.Reader(), mains.Anchor(), 10000));
  EXPECT_EQ(Sorted(index.Below({main})), Sorted(forked));
}

TEST_F(SubtreeIndexTest, TooManyForksSinceForTheRangeToBeTrusted) {
  FakeProc machine(5000);
  Mains mains;
  SubtreeIndex index(kSelf);
  index.Reset(machine.Cursor(), machine.Snapshot(), machine.Reader(), mains.Anchor());
  // (5000 - 300) / 2 forks may have gone round the pids once: the range says nothing then.
  for (int i = 0; i < 2400; ++i) machine.Exit(machine.Fork(1));
  EXPECT_FALSE(index.Advance(machine.Cursor(), machine.Reader(), mains.Anchor(), 100000));
  // ... and a range larger than allowed asks for a listing too.
  index.Reset(machine.Cursor(), machine.Snapshot(), machine.Reader(), mains.Anchor());
  for (int i = 0; i < 100; ++i) machine.Exit(machine.Fork(1));
  EXPECT_FALSE(index.Advance(machine.Cursor(), machine.Reader(), mains.Anchor(), 99));
  EXPECT_TRUE(index.Advance(machine.Cursor(), machine.Reader(), mains.Anchor(), 100));
}

TEST_F(SubtreeIndexTest, TheTasksAliveCountTowardsALap) {
  FakeProc machine(5000);
  Mains mains;
  for (int i = 0; i < 4000; ++i) machine.Fork(1);  // pids in use: a lap skips them
  SubtreeIndex index(kSelf);
  index.Reset(machine.Cursor(), machine.Snapshot(), machine.Reader(), mains.Anchor());
  for (int i = 0; i < 400; ++i) machine.Exit(machine.Fork(1));
  EXPECT_FALSE(index.Advance(machine.Cursor(), machine.Reader(), mains.Anchor(), 100000));
}

TEST_F(SubtreeIndexTest, ThreadsAreNoProcesses) {
  Reset();
  machine_.Thread(main_a_);   // shows wardend as its parent, as main A's threads do
  machine_.Thread(child_a_);  // shows main A as its parent
  ASSERT_TRUE(Advance());
  EXPECT_EQ(index_.size(), 1u);
  EXPECT_EQ(index_.Below({main_a_}), std::vector<int>{child_a_});
}

TEST_F(SubtreeIndexTest, APidNotInProcYetIsReadAgainAtTheNextLook) {
  Reset();
  const int late = machine_.Fork(main_b_, /*visible=*/false);
  ASSERT_TRUE(Advance());
  EXPECT_TRUE(index_.Below({main_b_}).empty());
  machine_.Show(late);
  ASSERT_TRUE(Advance());
  EXPECT_EQ(index_.Below({main_b_}), std::vector<int>{late});
}

TEST_F(SubtreeIndexTest, TheDeadBelowMainsNobodyLooksAtAreSweptAway) {
  Reset();
  std::vector<int> forked;
  for (int i = 0; i < 30; ++i) forked.push_back(machine_.Fork(main_b_));
  ASSERT_TRUE(Advance());
  EXPECT_EQ(index_.size(), 31u);
  for (int pid : forked) machine_.Exit(pid);
  // Each look reads a few entries besides the new pids: the dead go, without a look below B.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Advance());
  EXPECT_EQ(index_.size(), 1u);
}

TEST_F(SubtreeIndexTest, AResetKeepsWhatTheListingMissed) {
  Reset();
  const int daemon = machine_.Fork(child_a_);
  ASSERT_TRUE(Advance());
  // A listing that missed the daemon (its parent exited while it was read: the daemon was
  // read before, with a parent then gone).
  std::vector<os::ProcStat> listing = machine_.Snapshot();
  machine_.Exit(child_a_);
  std::erase_if(listing, [&](const os::ProcStat& p) { return p.pid == child_a_; });
  index_.Reset(machine_.Cursor(), listing, machine_.Reader(), mains_.Anchor());
  EXPECT_TRUE(index_.Contains(daemon, machine_.At(daemon).start_ticks));
  EXPECT_EQ(index_.Below({}), std::vector<int>{daemon});
}

TEST_F(SubtreeIndexTest, AProcessThatLeftTheSubtreeIsDropped) {
  Reset();
  // Reparented to init (wardend no subreaper): no longer ours.
  os::ProcStat moved = machine_.At(child_a_);
  moved.ppid = 1;
  EXPECT_FALSE(index_.Refresh(child_a_, moved, mains_.Anchor()));
  EXPECT_EQ(index_.size(), 0u);
}

}  // namespace
}  // namespace warden
