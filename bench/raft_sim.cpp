// raft_sim: libraft (Debian's libraft-dev 0.15) driven through a raft_io of our own, the
// second step of REPLICATION.md's evaluation (bench/README.md "raft_sim").
//
// raft_groups measured groups inside libraft's test fixture, whose own copying turned out
// to be most of the cost. This program gives the library the I/O a node would: three
// nodes in one process, each hosting one replica of every group, over a deterministic
// simulated network and disk with a virtual clock (1 ms steps):
//   - one timer per node ticks every group it hosts (no timer per group);
//   - appends of all groups of a node within a step complete together, after one
//     simulated sync per node per step (what one synced RocksDB write per tick would be);
//   - messages are delivered one step after they are sent; the program counts them as
//     sent by libraft and as they would travel coalesced (one frame per node pair per step).
// Measured on the process's CPU clock: idle cost per group, CPU per committed entry with
// the writes of a step batched per group, syncs and frames per second. Then node 3 is
// killed mid-load (its unsynced appends lost, as after kill -9), restarted from what it
// had synced, and every group is checked: all three replicas apply the same commands in
// the same order, and none of the commands acknowledged before the crash is missing.
// Then nodes 1 and 2 are killed together (no majority left) and restarted: what was
// acknowledged was on a majority's disks, so it must all be applied after the restart.
//
// `raft_sim chaos` runs seeded worlds of a few groups with messages dropped, duplicated and
// reordered, nodes killed (up to two at once) and cut off, then heals and checks the same.
// It found libraft 0.15 losing acknowledged commands: a follower answers a heartbeat that
// matched at prev_log_index with its own last stored index — including a divergent tail of
// an old term the request never checked — and the leader counts that as replicated and
// commits its own, different entries at those indexes (bench/README.md "raft_sim": 19 of
// 2,000 seeds with the default timeouts). With `clamp` this io lowers such answers to the
// prefix the request checked (g_clamp): 0 of 2,000.
//
// Not in the CMake build (libraft-dev is no dependency of the engine): run it with
// bench/run_raft_eval.sh.
//
// raft_sim [groups] [entries per second] [seconds] [bytes] [election ms] [heartbeat ms]
// (defaults 200 16000 5 1024 1000 100: libraft's election and heartbeat timeouts)

extern "C" {  // libraft-dev 0.15's header declares no C linkage itself
#include <raft.h>
}
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr unsigned k_nodes = 3;

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct stored_entry {
  raft_term term = 0;
  unsigned short type = 0;
  std::string data;
};

struct stored_snapshot {
  raft_index index = 0;
  raft_term term = 0;
  std::vector<std::pair<raft_id, int>> servers;  // id, role
  raft_index configuration_index = 0;
  std::string data;
};

// What a replica has on "disk": survives a crash of its node (the unsynced tail does not).
struct durable {
  raft_term term = 0;
  raft_id vote = 0;
  raft_index start = 1;  // index of log[0]
  std::vector<stored_entry> log;
  std::size_t synced = 0;  // entries of `log` covered by a sync
  std::unique_ptr<stored_snapshot> snapshot;
};

struct world;

// libraft 0.15's follower answers an AppendEntries that matched at prev_log_index with its
// own last stored index, which can include a divergent tail the request never checked, and
// the leader takes that as the follower's match index (see bench/README.md "raft_sim").
// With g_clamp, this io lowers such an answer to the prefix the request verified.
bool g_clamp = false;

// The FSM: the commands applied, in order (each carries a unique 8-byte id).
struct fsm_state {
  std::vector<std::uint64_t> applied;
};

struct replica {
  world* w = nullptr;
  unsigned node = 0;
  unsigned group = 0;
  raft_id id = 0;
  std::string address;
  durable disk;
  raft_io io{};
  raft r{};
  raft_fsm fsm{};
  fsm_state state;
  raft_io_tick_cb tick = nullptr;
  raft_io_recv_cb recv = nullptr;
  unsigned tick_ms = 0;
  raft_time next_tick = 0;
  bool running = false;
  // The follower-side guard (g_clamp): while raft handles an AppendEntries, or completes
  // the append it started for one, `verified` is that request's prev_log_index + its
  // entries — the prefix the follower has checked against the leader's log.
  bool in_append_entries = false;
  raft_index verified = 0;
  std::vector<std::pair<raft_io_append*, raft_index>> append_verified;
};

struct pending_append {
  replica* rep;
  raft_io_append* req;
  raft_io_append_cb cb;
};

struct in_flight {
  unsigned from_node;
  unsigned to_node;
  unsigned group;
  raft_message msg;
  raft_time due = 0;
  unsigned from_incarnation = 0;
  unsigned to_incarnation = 0;
};

// Faults of the chaos runs: each message is dropped or duplicated with these odds (per
// mille) and delayed by 1..max_delay ms (so messages overtake each other).
struct faults {
  unsigned drop_permille = 0;
  unsigned duplicate_permille = 0;
  unsigned max_delay = 1;
};

struct world {
  raft_time now = 0;
  std::mt19937 rng{7};
  std::vector<std::vector<std::unique_ptr<replica>>> nodes;  // [node][group]
  bool alive[k_nodes] = {true, true, true};
  std::vector<pending_append> appends[k_nodes];
  std::vector<in_flight> network;
  faults net;
  unsigned incarnation[k_nodes] = {};
  bool cut[k_nodes][k_nodes] = {};  // cut[a][b]: nothing from a reaches b
  // Callbacks due at the next step, with the node whose raft they go to.
  struct send_cb {
    unsigned node;
    raft_io_send* req;
    raft_io_send_cb cb;
  };
  struct put_cb {
    unsigned node;
    raft_io_snapshot_put* req;
    raft_io_snapshot_put_cb cb;
  };
  struct get_cb {
    unsigned node;
    raft_io_snapshot_get* req;
    raft_io_snapshot_get_cb cb;
    raft_snapshot* s;
  };
  std::vector<send_cb> send_done;
  std::vector<put_cb> put_done;
  std::vector<get_cb> get_done;
  // Counters.
  std::uint64_t syncs = 0, messages = 0, frames = 0, set_term_vote = 0;
  std::uint64_t replies_beyond_verified = 0;  // AppendEntries successes past the checked prefix
  bool frame_used[k_nodes][k_nodes] = {};
};

replica* rep_of(raft_io* io) { return static_cast<replica*>(io->impl); }

// --- copies between raft's structures and ours --------------------------------------

void copy_entries_out(const stored_entry* from, std::size_t n, raft_entry** entries) {
  std::size_t size = 0;
  for (std::size_t i = 0; i < n; ++i) size += from[i].data.size();
  auto* batch = static_cast<char*>(raft_malloc(size > 0 ? size : 1));
  *entries = static_cast<raft_entry*>(raft_calloc(n, sizeof(raft_entry)));
  char* cursor = batch;
  for (std::size_t i = 0; i < n; ++i) {
    std::memcpy(cursor, from[i].data.data(), from[i].data.size());
    (*entries)[i].term = from[i].term;
    (*entries)[i].type = from[i].type;
    (*entries)[i].buf.base = cursor;
    (*entries)[i].buf.len = from[i].data.size();
    (*entries)[i].batch = batch;
    cursor += from[i].data.size();
  }
}

raft_snapshot* snapshot_out(const stored_snapshot& s) {
  auto* out = static_cast<raft_snapshot*>(raft_calloc(1, sizeof(raft_snapshot)));
  out->index = s.index;
  out->term = s.term;
  raft_configuration_init(&out->configuration);
  for (auto [id, role] : s.servers) {
    raft_configuration_add(&out->configuration, id, std::to_string(id).c_str(), role);
  }
  out->configuration_index = s.configuration_index;
  out->bufs = static_cast<raft_buffer*>(raft_malloc(sizeof(raft_buffer)));
  out->bufs[0].len = s.data.size();
  out->bufs[0].base = raft_malloc(s.data.size() > 0 ? s.data.size() : 1);
  std::memcpy(out->bufs[0].base, s.data.data(), s.data.size());
  out->n_bufs = 1;
  return out;
}

// --- the raft_io -----------------------------------------------------------------

int io_init(raft_io*, raft_id, const char*) { return 0; }

void io_close(raft_io* io, raft_io_close_cb cb) {
  rep_of(io)->running = false;
  if (cb != nullptr) cb(io);
}

int io_load(raft_io* io, raft_term* term, raft_id* vote, raft_snapshot** snapshot,
            raft_index* start_index, raft_entry** entries, size_t* n_entries) {
  auto& d = rep_of(io)->disk;
  *term = d.term;
  *vote = d.vote;
  *snapshot = d.snapshot ? snapshot_out(*d.snapshot) : nullptr;
  *start_index = d.start;
  *n_entries = d.log.size();
  *entries = nullptr;
  if (!d.log.empty()) copy_entries_out(d.log.data(), d.log.size(), entries);
  return 0;
}

int io_start(raft_io* io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv) {
  auto* r = rep_of(io);
  r->tick = tick;
  r->recv = recv;
  r->tick_ms = msecs;
  // One timer per node ticks all of its groups, each node in its own phase (nodes do not
  // start in the same millisecond). In phase, the randomized election timeouts of a group's
  // replicas (1-2 s, checked only at ticks) would fall on the same tick again and again.
  r->next_tick = r->w->now + 1 + (r->node * 37) % msecs;
  r->running = true;
  return 0;
}

int io_bootstrap(raft_io* io, const raft_configuration* conf) {
  auto& d = rep_of(io)->disk;
  if (d.term != 0) return RAFT_CANTBOOTSTRAP;
  raft_buffer buf{};
  if (int rv = raft_configuration_encode(conf, &buf); rv != 0) return rv;
  d.log.push_back({1, RAFT_CHANGE, std::string(static_cast<char*>(buf.base), buf.len)});
  d.synced = 1;
  raft_free(buf.base);
  d.term = 1;
  return 0;
}

int io_recover(raft_io*, const raft_configuration*) { return RAFT_NOTFOUND; }

// Term and vote are synchronous in libraft's contract (durable when the call returns).
int io_set_term(raft_io* io, raft_term term) {
  auto* r = rep_of(io);
  r->disk.term = term;
  r->disk.vote = 0;
  ++r->w->set_term_vote;
  return 0;
}

int io_set_vote(raft_io* io, raft_id vote) {
  auto* r = rep_of(io);
  r->disk.vote = vote;
  ++r->w->set_term_vote;
  return 0;
}

// A deep copy: the entries and the snapshot data of `m` are raft's until the send
// callback; the copy is the network's until delivered (then raft's) or dropped.
raft_message copy_message(const raft_message& m) {
  raft_message out = m;
  if (m.type == RAFT_IO_APPEND_ENTRIES) {
    out.append_entries.entries = nullptr;
    if (m.append_entries.n_entries > 0) {
      std::vector<stored_entry> tmp;
      for (unsigned i = 0; i < m.append_entries.n_entries; ++i) {
        const auto& e = m.append_entries.entries[i];
        tmp.push_back({e.term, e.type, std::string(static_cast<char*>(e.buf.base), e.buf.len)});
      }
      copy_entries_out(tmp.data(), tmp.size(), &out.append_entries.entries);
    }
  } else if (m.type == RAFT_IO_INSTALL_SNAPSHOT) {
    const auto& s = m.install_snapshot;
    raft_configuration_init(&out.install_snapshot.conf);
    for (unsigned i = 0; i < s.conf.n; ++i) {
      raft_configuration_add(&out.install_snapshot.conf, s.conf.servers[i].id,
                             s.conf.servers[i].address, s.conf.servers[i].role);
    }
    out.install_snapshot.data.base = raft_malloc(s.data.len > 0 ? s.data.len : 1);
    std::memcpy(out.install_snapshot.data.base, s.data.base, s.data.len);
  }
  return out;
}

void free_message(raft_message& m);

int io_send(raft_io* io, raft_io_send* req, const raft_message* in, raft_io_send_cb cb) {
  auto* r = rep_of(io);
  world& w = *r->w;
  raft_message clamped;
  const raft_message* m = in;
  if (in->type == RAFT_IO_APPEND_ENTRIES_RESULT && in->append_entries_result.rejected == 0 &&
      r->in_append_entries && in->append_entries_result.last_log_index > r->verified) {
    ++w.replies_beyond_verified;
    if (g_clamp) {
      clamped = *in;
      clamped.append_entries_result.last_log_index = r->verified;
      m = &clamped;
    }
  }
  const unsigned to = static_cast<unsigned>(m->server_id - 1);
  ++w.messages;
  if (!w.frame_used[r->node][to]) {
    w.frame_used[r->node][to] = true;
    ++w.frames;
  }
  std::uniform_int_distribution<unsigned> permille(0, 999);
  std::uniform_int_distribution<unsigned> delay(1, w.net.max_delay);
  const bool drop = w.net.drop_permille > 0 && permille(w.rng) < w.net.drop_permille;
  const unsigned copies =
      drop ? 0
           : (w.net.duplicate_permille > 0 && permille(w.rng) < w.net.duplicate_permille ? 2 : 1);
  for (unsigned c = 0; c < copies; ++c) {
    w.network.push_back({r->node, to, r->group, copy_message(*m), w.now + delay(w.rng),
                         w.incarnation[r->node], w.incarnation[to]});
  }
  req->cb = cb;
  w.send_done.push_back({r->node, req, cb});
  return 0;
}

int io_append(raft_io* io, raft_io_append* req, const raft_entry entries[], unsigned n,
              raft_io_append_cb cb) {
  auto* r = rep_of(io);
  for (unsigned i = 0; i < n; ++i) {
    r->disk.log.push_back(
        {entries[i].term, entries[i].type,
         std::string(static_cast<char*>(entries[i].buf.base), entries[i].buf.len)});
  }
  req->cb = cb;
  r->w->appends[r->node].push_back({r, req, cb});
  if (r->in_append_entries) r->append_verified.emplace_back(req, r->verified);
  return 0;
}

int io_truncate(raft_io* io, raft_index index) {
  auto& d = rep_of(io)->disk;
  const std::size_t keep = index > d.start ? static_cast<std::size_t>(index - d.start) : 0;
  if (keep < d.log.size()) d.log.resize(keep);
  d.synced = std::min(d.synced, d.log.size());
  return 0;
}

int io_snapshot_put(raft_io* io, unsigned trailing, raft_io_snapshot_put* req,
                    const raft_snapshot* s, raft_io_snapshot_put_cb cb) {
  auto* r = rep_of(io);
  auto& d = r->disk;
  auto snap = std::make_unique<stored_snapshot>();
  snap->index = s->index;
  snap->term = s->term;
  for (unsigned i = 0; i < s->configuration.n; ++i) {
    snap->servers.emplace_back(s->configuration.servers[i].id, s->configuration.servers[i].role);
  }
  snap->configuration_index = s->configuration_index;
  for (unsigned i = 0; i < s->n_bufs; ++i) {
    snap->data.append(static_cast<char*>(s->bufs[i].base), s->bufs[i].len);
  }
  d.snapshot = std::move(snap);
  // Keep `trailing` entries before the snapshot's index; 0 (an installed snapshot): none.
  const raft_index first_kept =
      trailing == 0 ? s->index + 1 : (s->index > trailing ? s->index - trailing + 1 : 1);
  if (first_kept > d.start) {
    const auto drop = std::min<std::size_t>(first_kept - d.start, d.log.size());
    d.log.erase(d.log.begin(), d.log.begin() + static_cast<std::ptrdiff_t>(drop));
    d.synced -= std::min(d.synced, drop);
    d.start = first_kept;
  }
  if (trailing == 0) {
    d.log.clear();
    d.synced = 0;
    d.start = s->index + 1;
  }
  req->cb = cb;
  r->w->put_done.push_back({r->node, req, cb});
  return 0;
}

int io_snapshot_get(raft_io* io, raft_io_snapshot_get* req, raft_io_snapshot_get_cb cb) {
  auto* r = rep_of(io);
  req->cb = cb;
  r->w->get_done.push_back({r->node, req, cb, snapshot_out(*r->disk.snapshot)});
  return 0;
}

raft_time io_time(raft_io* io) { return rep_of(io)->w->now; }

int io_random(raft_io* io, int min, int max) {
  std::uniform_int_distribution<int> d(min, max);
  return d(rep_of(io)->w->rng);
}

// --- the FSM ---------------------------------------------------------------------

int fsm_apply(raft_fsm* fsm, const raft_buffer* buf, void** result) {
  std::uint64_t id = 0;
  std::memcpy(&id, buf->base, sizeof id);
  static_cast<fsm_state*>(fsm->data)->applied.push_back(id);
  *result = nullptr;
  return 0;
}

int fsm_snapshot(raft_fsm* fsm, raft_buffer* bufs[], unsigned* n) {
  const auto& a = static_cast<fsm_state*>(fsm->data)->applied;
  auto* b = static_cast<raft_buffer*>(raft_malloc(sizeof(raft_buffer)));
  b->len = a.size() * sizeof(std::uint64_t);
  b->base = raft_malloc(b->len > 0 ? b->len : 1);
  std::memcpy(b->base, a.data(), b->len);
  *bufs = b;
  *n = 1;
  return 0;
}

int fsm_restore(raft_fsm* fsm, raft_buffer* buf) {
  auto& a = static_cast<fsm_state*>(fsm->data)->applied;
  a.resize(buf->len / sizeof(std::uint64_t));
  std::memcpy(a.data(), buf->base, buf->len);
  raft_free(buf->base);
  return 0;
}

// --- the simulation ----------------------------------------------------------------

void setup_io(replica& rep) {
  rep.io = raft_io{};
  rep.io.version = 1;
  rep.io.impl = &rep;
  rep.io.init = io_init;
  rep.io.close = io_close;
  rep.io.load = io_load;
  rep.io.start = io_start;
  rep.io.bootstrap = io_bootstrap;
  rep.io.recover = io_recover;
  rep.io.set_term = io_set_term;
  rep.io.set_vote = io_set_vote;
  rep.io.send = io_send;
  rep.io.append = io_append;
  rep.io.truncate = io_truncate;
  rep.io.snapshot_put = io_snapshot_put;
  rep.io.snapshot_get = io_snapshot_get;
  rep.io.time = io_time;
  rep.io.random = io_random;
  rep.fsm = raft_fsm{};
  rep.fsm.version = 1;
  rep.fsm.data = &rep.state;
  rep.fsm.apply = fsm_apply;
  rep.fsm.snapshot = fsm_snapshot;
  rep.fsm.restore = fsm_restore;
}

unsigned g_election_ms = 1000;
unsigned g_heartbeat_ms = 100;

bool start_replica(replica& rep, bool bootstrap) {
  setup_io(rep);
  rep.state.applied.clear();
  // A restart is a new process: nothing of the abandoned raft state may survive (raft_init
  // does not reset everything, e.g. a snapshot it was taking).
  std::memset(static_cast<void*>(&rep.r), 0, sizeof rep.r);
  if (raft_init(&rep.r, &rep.io, &rep.fsm, rep.id, rep.address.c_str()) != 0) return false;
  raft_set_heartbeat_timeout(&rep.r, g_heartbeat_ms);
  raft_set_election_timeout(&rep.r, g_election_ms);
  raft_set_snapshot_threshold(&rep.r, 256);
  raft_set_snapshot_trailing(&rep.r, 64);
  // A snapshot sent to a lagging follower and lost is sent again after this timeout
  // (libraft's default is 30 s, longer than a chaos run's heal).
  raft_set_install_snapshot_timeout(&rep.r, 3000);
  if (bootstrap) {
    raft_configuration conf;
    raft_configuration_init(&conf);
    for (unsigned n = 0; n < k_nodes; ++n) {
      raft_configuration_add(&conf, n + 1, std::to_string(n + 1).c_str(), RAFT_VOTER);
    }
    const int rv = raft_bootstrap(&rep.r, &conf);
    raft_configuration_close(&conf);
    if (rv != 0) return false;
  }
  return raft_start(&rep.r) == 0;
}

void free_message(raft_message& m) {
  if (m.type == RAFT_IO_APPEND_ENTRIES && m.append_entries.entries != nullptr) {
    raft_free(m.append_entries.entries[0].batch);
    raft_free(m.append_entries.entries);
  } else if (m.type == RAFT_IO_INSTALL_SNAPSHOT) {
    raft_configuration_close(&m.install_snapshot.conf);
    raft_free(m.install_snapshot.data.base);
  }
}

// One virtual millisecond: deliver the messages due, complete the callbacks, tick the
// groups that are due, then one sync per node for the appends of this step.
void step(world& w) {
  ++w.now;
  std::memset(w.frame_used, 0, sizeof w.frame_used);
  std::vector<in_flight> arriving;
  auto due = std::stable_partition(w.network.begin(), w.network.end(),
                                   [&](const in_flight& f) { return f.due > w.now; });
  arriving.assign(std::make_move_iterator(due), std::make_move_iterator(w.network.end()));
  w.network.erase(due, w.network.end());
  for (auto& f : arriving) {
    replica& to = *w.nodes[f.to_node][f.group];
    // A message of an earlier incarnation of either node died with its connection.
    if (!w.alive[f.to_node] || !w.alive[f.from_node] || !to.running ||
        f.from_incarnation != w.incarnation[f.from_node] ||
        f.to_incarnation != w.incarnation[f.to_node] || w.cut[f.from_node][f.to_node]) {
      free_message(f.msg);
      continue;
    }
    f.msg.server_id = f.from_node + 1;
    f.msg.server_address = w.nodes[f.from_node][f.group]->address.c_str();
    const bool append_entries = f.msg.type == RAFT_IO_APPEND_ENTRIES;
    to.in_append_entries = append_entries;
    to.verified =
        append_entries ? f.msg.append_entries.prev_log_index + f.msg.append_entries.n_entries : 0;
    to.recv(&to.io, &f.msg);  // raft owns the entries / snapshot data now
    to.in_append_entries = false;
  }
  auto sends = std::move(w.send_done);
  w.send_done.clear();
  for (auto& c : sends) c.cb(c.req, 0);
  auto puts = std::move(w.put_done);
  w.put_done.clear();
  for (auto& c : puts) c.cb(c.req, 0);
  auto gets = std::move(w.get_done);
  w.get_done.clear();
  for (auto& c : gets) c.cb(c.req, c.s, 0);
  for (unsigned n = 0; n < k_nodes; ++n) {
    if (!w.alive[n]) continue;
    for (auto& rep : w.nodes[n]) {
      if (rep->running && w.now >= rep->next_tick) {
        rep->next_tick = w.now + rep->tick_ms;
        rep->tick(&rep->io);
      }
    }
  }
  for (unsigned n = 0; n < k_nodes; ++n) {
    if (!w.alive[n] || w.appends[n].empty()) continue;
    ++w.syncs;
    auto done = std::move(w.appends[n]);
    w.appends[n].clear();
    for (auto& a : done) a.rep->disk.synced = a.rep->disk.log.size();
    for (auto& a : done) {
      auto& av = a.rep->append_verified;
      auto it = std::find_if(av.begin(), av.end(), [&](const auto& x) { return x.first == a.req; });
      if (it != av.end()) {
        a.rep->in_append_entries = true;
        a.rep->verified = it->second;
        av.erase(it);
      }
      a.cb(a.req, 0);
      a.rep->in_append_entries = false;
    }
  }
}

replica* leader_of(world& w, unsigned g) {
  for (unsigned n = 0; n < k_nodes; ++n) {
    if (!w.alive[n]) continue;
    auto& rep = *w.nodes[n][g];
    if (rep.running && raft_state(&rep.r) == RAFT_LEADER) return &rep;
  }
  return nullptr;
}

using barrier_request = struct raft_barrier;  // the type, not the function of that name

struct proposal {
  struct raft_apply req {};
  std::vector<std::uint64_t> ids;
  std::vector<std::uint64_t>* acked = nullptr;
};

void on_applied(struct raft_apply* req, int status, void*) {
  auto* p = static_cast<proposal*>(req->data);
  if (status == 0) p->acked->insert(p->acked->end(), p->ids.begin(), p->ids.end());
  delete p;
}

// Kill -9 of a node: its replicas stop where they are (no callback of theirs runs again:
// the process is gone; their raft state is abandoned, not closed), and the appends it had
// not synced are lost.
void crash(world& w, unsigned n) {
  w.alive[n] = false;
  ++w.incarnation[n];
  w.appends[n].clear();
  std::erase_if(w.send_done, [n](const auto& c) { return c.node == n; });
  std::erase_if(w.put_done, [n](const auto& c) { return c.node == n; });
  std::erase_if(w.get_done, [n](const auto& c) { return c.node == n; });
  for (auto& rep : w.nodes[n]) {
    rep->running = false;
    rep->disk.log.resize(rep->disk.synced);
    rep->append_verified.clear();
  }
}

bool restart(world& w, unsigned n) {
  w.alive[n] = true;
  for (auto& rep : w.nodes[n]) {
    if (!start_replica(*rep, false)) {
      std::fprintf(stderr, "restart of node %u failed\n", n + 1);
      return false;
    }
  }
  return true;
}

// The world: `groups` groups, one replica of each on every node, bootstrapped and started.
bool build(world& w, unsigned groups) {
  w.nodes.resize(k_nodes);
  for (unsigned n = 0; n < k_nodes; ++n) {
    for (unsigned g = 0; g < groups; ++g) {
      auto rep = std::make_unique<replica>();
      rep->w = &w;
      rep->node = n;
      rep->group = g;
      rep->id = n + 1;
      rep->address = std::to_string(n + 1);
      w.nodes[n].push_back(std::move(rep));
    }
  }
  for (unsigned n = 0; n < k_nodes; ++n) {
    for (auto& rep : w.nodes[n]) {
      if (!start_replica(*rep, true)) return false;
    }
  }
  return true;
}

// Steps until every group has a leader (at most `limit` ms); false if one has none.
bool elect(world& w, unsigned limit) {
  const auto groups = static_cast<unsigned>(w.nodes[0].size());
  for (unsigned i = 0; i < limit; ++i) {
    step(w);
    unsigned led = 0;
    for (unsigned g = 0; g < groups; ++g) led += leader_of(w, g) != nullptr;
    if (led == groups) return true;
  }
  return false;
}

// `rate` commands a second, each to a random group; a step's commands of one group go in
// one proposal (raft_apply with n buffers) to the replica that believes it leads.
struct workload {
  unsigned rate = 0;
  std::size_t bytes = 0;
  std::vector<std::uint64_t> acked;
  std::uint64_t next_id = 1, proposed = 0, proposals = 0, refused = 0;
  double carry = 0;

  void run(world& w, unsigned ms) {
    const auto groups = static_cast<unsigned>(w.nodes[0].size());
    std::uniform_int_distribution<unsigned> pick(0, groups - 1);
    for (unsigned i = 0; i < ms; ++i) {
      carry += rate / 1000.0;
      std::vector<std::vector<std::uint64_t>> per_group(groups);
      while (carry >= 1) {
        per_group[pick(w.rng)].push_back(next_id++);
        carry -= 1;
      }
      for (unsigned g = 0; g < groups; ++g) {
        if (!per_group[g].empty()) propose(w, g, per_group[g]);
      }
      step(w);
    }
  }

  void propose(world& w, unsigned g, const std::vector<std::uint64_t>& ids) {
    replica* l = leader_of(w, g);
    if (l == nullptr) {
      refused += ids.size();
      return;
    }
    auto* p = new proposal;
    p->ids = ids;
    p->acked = &acked;
    p->req.data = p;
    std::vector<raft_buffer> bufs(ids.size());
    for (std::size_t k = 0; k < ids.size(); ++k) {
      bufs[k].len = bytes;
      bufs[k].base = raft_calloc(1, bytes);
      std::memcpy(bufs[k].base, &ids[k], sizeof(std::uint64_t));
    }
    if (raft_apply(&l->r, &p->req, bufs.data(), static_cast<unsigned>(bufs.size()), on_applied) !=
        0) {
      for (auto& b : bufs) raft_free(b.base);
      refused += ids.size();
      delete p;
      return;
    }
    proposed += ids.size();
    ++proposals;
  }
};

// After a heal: per group, the three replicas applied the same commands in the same order
// (`diverged` counts replica pairs where one is not a prefix of the other, `behind` those
// of different lengths), and every acknowledged command is applied (`lost` otherwise).
struct verdict {
  std::uint64_t lost = 0;
  unsigned diverged = 0;
  unsigned behind = 0;
  std::uint64_t beyond = 0;  // world::replies_beyond_verified
};

verdict check(const world& w, const std::vector<std::uint64_t>& acked) {
  verdict v;
  const auto groups = static_cast<unsigned>(w.nodes[0].size());
  std::vector<std::uint64_t> applied_all;
  for (unsigned g = 0; g < groups; ++g) {
    for (unsigned a = 0; a < k_nodes; ++a) {
      for (unsigned b = a + 1; b < k_nodes; ++b) {
        const auto& x = w.nodes[a][g]->state.applied;
        const auto& y = w.nodes[b][g]->state.applied;
        const std::size_t m = std::min(x.size(), y.size());
        if (!std::equal(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(m), y.begin())) {
          ++v.diverged;
        }
        if (x.size() != y.size()) ++v.behind;
      }
    }
    // The most advanced replica's commands (the others are prefixes of it unless diverged).
    const fsm_state* most = &w.nodes[0][g]->state;
    for (unsigned n = 1; n < k_nodes; ++n) {
      if (w.nodes[n][g]->state.applied.size() > most->applied.size()) most = &w.nodes[n][g]->state;
    }
    applied_all.insert(applied_all.end(), most->applied.begin(), most->applied.end());
  }
  std::sort(applied_all.begin(), applied_all.end());
  for (auto id : acked) {
    if (!std::binary_search(applied_all.begin(), applied_all.end(), id)) ++v.lost;
  }
  return v;
}

// One seeded chaos run: `groups` groups under 1,000 commands a second for 20 s while
// messages are dropped (2 %), duplicated (1 %) and delayed 1-30 ms, and every 500 ms one
// of these may happen: a node is killed (up to two at a time), a dead node restarts, a
// node is cut off from the others (both ways) or the cut heals. Then everything heals and
// restarts, and it runs without faults until it has settled (at most 300 s), then is checked.
verdict chaos_run(unsigned seed, unsigned groups, std::string& events) {
  world w;
  w.rng.seed(seed);
  if (!build(w, groups)) {
    events = "start failed";
    return verdict{1, 0, 0};
  }
  elect(w, 10000);
  w.net = faults{20, 10, 30};
  workload load;
  load.rate = 1000;
  load.bytes = 64;
  std::uniform_int_distribution<unsigned> what(0, 9), node(0, k_nodes - 1);
  for (unsigned t = 0; t < 40; ++t) {
    const unsigned n = node(w.rng);
    switch (what(w.rng)) {
      case 0:
      case 1: {
        unsigned down = 0;
        for (unsigned k = 0; k < k_nodes; ++k) down += !w.alive[k];
        if (w.alive[n] && down < 2) {
          crash(w, n);
          events += " kill" + std::to_string(n + 1) + "@" + std::to_string(w.now);
        }
        break;
      }
      case 2:
      case 3:
        if (!w.alive[n]) {
          restart(w, n);
          events += " restart" + std::to_string(n + 1) + "@" + std::to_string(w.now);
        }
        break;
      case 4:
        for (unsigned k = 0; k < k_nodes; ++k) {
          if (k != n) w.cut[n][k] = w.cut[k][n] = true;
        }
        events += " cut" + std::to_string(n + 1) + "@" + std::to_string(w.now);
        break;
      case 5:
        std::memset(w.cut, 0, sizeof w.cut);
        events += " heal@" + std::to_string(w.now);
        break;
      default:
        break;
    }
    load.run(w, 500);
  }
  w.net = faults{};
  std::memset(w.cut, 0, sizeof w.cut);
  for (unsigned k = 0; k < k_nodes; ++k) {
    if (!w.alive[k]) restart(w, k);
  }
  // A leader commits entries of earlier terms only with one of its own (Raft §5.4.2), and
  // libraft 0.15 appends none on election: without new commands, what the last leaders
  // acknowledged may stay unapplied on restarted replicas. A barrier per group and second,
  // as a node would issue on taking a group's leadership, commits them. libraft walks a
  // follower's divergent tail back one entry per heartbeat, so catching up can take
  // minutes of virtual time: up to 300 s, until every group has a leader that committed
  // its whole log and all replicas applied the same.
  auto settled = [&] {
    for (unsigned g = 0; g < groups; ++g) {
      replica* l = leader_of(w, g);
      if (l == nullptr || l->r.commit_index != raft_last_index(&l->r)) return false;
      for (unsigned n = 0; n < k_nodes; ++n) {
        if (w.nodes[n][g]->state.applied.size() != l->state.applied.size()) return false;
      }
    }
    return true;
  };
  for (unsigned i = 0; i < 300 && !settled(); ++i) {
    for (unsigned g = 0; g < groups; ++g) {
      if (replica* l = leader_of(w, g)) {
        auto* b = new barrier_request{};
        if (raft_barrier(&l->r, b, [](barrier_request* req, int) { delete req; }) != 0) delete b;
      }
    }
    for (unsigned k = 0; k < 1000; ++k) step(w);
  }
  verdict v = check(w, load.acked);
  v.beyond = w.replies_beyond_verified;
  return v;
}

// Exit status 1 when a seed broke safety (an acknowledged command lost, replicas
// diverged); seeds where a replica had not caught up by the end are reported (liveness).
int chaos(unsigned seeds, unsigned groups) {
  unsigned unsafe = 0, stuck = 0;
  std::uint64_t beyond = 0;
  for (unsigned seed = 1; seed <= seeds; ++seed) {
    std::string events;
    const verdict v = chaos_run(seed, groups, events);
    beyond += v.beyond;
    if (v.lost > 0 || v.diverged > 0 || v.behind > 0) {
      if (v.lost > 0 || v.diverged > 0) {
        ++unsafe;
      } else {
        ++stuck;
      }
      std::printf(
          "seed %u: %llu acked but not applied, %u replica pairs diverged, %u pairs "
          "of different lengths when healed; events:%s\n",
          seed, static_cast<unsigned long long>(v.lost), v.diverged, v.behind, events.c_str());
    }
  }
  std::printf(
      "chaos: %u seeds of %u groups, 20 s each with drops, duplicates, delays, kill -9 "
      "and cut-offs, then healed: %u lost or diverged (safety), %u with a replica "
      "not caught up after 300 s (liveness); %llu AppendEntries successes named a last index past "
      "the "
      "prefix their request checked (most harmlessly: entries of the same leader already "
      "stored; %s)\n",
      seeds, groups, unsafe, stuck, static_cast<unsigned long long>(beyond),
      g_clamp ? "lowered to it by this io" : "passed on as libraft sent them");
  return unsafe == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "chaos") {
    const unsigned seeds = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 100;
    const unsigned groups = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 8;
    if (argc > 4) g_election_ms = static_cast<unsigned>(std::atoi(argv[4]));
    if (argc > 5) g_heartbeat_ms = static_cast<unsigned>(std::atoi(argv[5]));
    g_clamp = argc > 6 && std::string(argv[6]) == "clamp";
    return chaos(seeds, groups);
  }
  const unsigned groups = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 200;
  const unsigned rate = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 16000;
  const unsigned seconds = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 5;
  const std::size_t bytes = argc > 4 ? static_cast<std::size_t>(std::atoi(argv[4])) : 1024;
  if (argc > 5) g_election_ms = static_cast<unsigned>(std::atoi(argv[5]));
  if (argc > 6) g_heartbeat_ms = static_cast<unsigned>(std::atoi(argv[6]));
  if (groups == 0 || bytes < sizeof(std::uint64_t) || g_heartbeat_ms == 0 ||
      g_election_ms <= g_heartbeat_ms) {
    std::fprintf(stderr,
                 "usage: raft_sim [groups] [entries/s] [seconds] [bytes >= 8] [election ms] "
                 "[heartbeat ms < election ms]\n"
                 "       raft_sim chaos [seeds] [groups] [election ms] [heartbeat ms]\n");
    return 2;
  }
  world w;
  if (!build(w, groups)) {
    std::fprintf(stderr, "raft_init/bootstrap/start failed\n");
    return 1;
  }
  const double cpu0 = cpu_seconds();
  if (!elect(w, 5000)) {
    std::fprintf(stderr, "a group has no leader after %llu ms\n",
                 static_cast<unsigned long long>(w.now));
    return 1;
  }
  const double cpu_elect = cpu_seconds() - cpu0;
  const auto elected_at = w.now;

  // Idle: 10 virtual seconds of heartbeats.
  auto reset = [&] { w.syncs = w.messages = w.frames = w.set_term_vote = 0; };
  reset();
  const double cpu1 = cpu_seconds();
  for (unsigned i = 0; i < 10000; ++i) step(w);
  const double idle = cpu_seconds() - cpu1;
  const double idle_messages = static_cast<double>(w.messages) / 10;
  const double idle_frames = static_cast<double>(w.frames) / 10;

  workload load;
  load.rate = rate;
  load.bytes = bytes;
  reset();
  const double cpu2 = cpu_seconds();
  load.run(w, seconds * 1000);
  for (unsigned i = 0; i < 50; ++i) step(w);  // drain
  const double loaded = cpu_seconds() - cpu2;
  const double secs = seconds + 0.05;
  const std::size_t acked_loaded = load.acked.size();
  std::printf(
      "%u groups x 3 replicas, election timeout %u ms, heartbeat %u ms: all elected by "
      "%llu ms (%.2f ms CPU per group)\n",
      groups, g_election_ms, g_heartbeat_ms, static_cast<unsigned long long>(elected_at),
      cpu_elect * 1e3 / groups);
  std::printf(
      "idle: %.1f us CPU per group per second (3 replicas; %.2f %% of a core for all); "
      "%.0f messages/s, %.0f node-to-node frames/s if coalesced per step\n",
      idle * 1e6 / 10 / groups, idle * 100 / 10, idle_messages, idle_frames);
  std::printf(
      "load: %u entries/s of %zu B, %llu proposals (%.1f entries each), %zu acked, "
      "%llu refused (no leader)\n",
      rate, bytes, static_cast<unsigned long long>(load.proposals),
      load.proposals ? static_cast<double>(load.proposed) / static_cast<double>(load.proposals)
                     : 0.0,
      acked_loaded, static_cast<unsigned long long>(load.refused));
  std::printf(
      "  %.2f us CPU per acked entry (3 replicas, applied on all; %.1f %% of a core "
      "for the whole cluster), %.0f syncs/s (all nodes), %.0f messages/s -> %.0f frames/s\n",
      acked_loaded == 0 ? 0.0 : loaded * 1e6 / static_cast<double>(acked_loaded),
      loaded * 100 / secs, w.syncs / secs, w.messages / secs, w.frames / secs);

  // Kill -9 of node 3 under load: how long its groups are without a leader.
  load.run(w, 500);
  const std::size_t acked_at_crash = load.acked.size();
  std::vector<unsigned> orphaned;  // groups node 3 led
  for (unsigned g = 0; g < groups; ++g) {
    if (leader_of(w, g) == w.nodes[2][g].get()) orphaned.push_back(g);
  }
  const auto refused_before = load.refused;
  const auto crashed_at = w.now;
  crash(w, 2);
  std::vector<raft_time> new_leader_after(orphaned.size(), 0);
  for (unsigned i = 0; i < 3000; ++i) {
    load.run(w, 1);
    for (std::size_t k = 0; k < orphaned.size(); ++k) {
      if (new_leader_after[k] == 0 && leader_of(w, orphaned[k]) != nullptr) {
        new_leader_after[k] = w.now - crashed_at;
      }
    }
  }
  const auto without = std::count(new_leader_after.begin(), new_leader_after.end(), 0);
  std::erase(new_leader_after, 0);
  std::sort(new_leader_after.begin(), new_leader_after.end());
  auto at = [&](double q) {
    return new_leader_after.empty()
               ? 0ULL
               : static_cast<unsigned long long>(
                     new_leader_after[static_cast<std::size_t>(q * (new_leader_after.size() - 1))]);
  };
  std::printf(
      "kill -9 of node 3, the leader of %zu groups: a new leader after %llu / %llu / %llu "
      "ms (min / median / max; %td still without after 3 s), %llu commands refused "
      "meanwhile (no leader)\n",
      orphaned.size(), at(0), at(0.5), at(1), without,
      static_cast<unsigned long long>(load.refused - refused_before));
  if (!restart(w, 2)) return 1;
  load.run(w, 2000);
  // Then nodes 1 and 2 at once (two of three: no majority until they are back), under
  // load, restarted 1 s later: whatever was acknowledged must have been durable on a
  // majority, so it must survive this.
  const std::size_t acked_before_double = load.acked.size();
  crash(w, 0);
  crash(w, 1);
  load.run(w, 1000);
  if (!restart(w, 0) || !restart(w, 1)) return 1;
  load.run(w, 2000);
  for (unsigned i = 0; i < 5000; ++i) step(w);

  const verdict v = check(w, load.acked);
  std::printf(
      "kill -9 of node 3 after %zu acked entries, restarted 3 s later; kill -9 of nodes "
      "1 and 2 at once after %zu, restarted 1 s later: %zu acked in all, %llu acked but "
      "not applied, %u replica pairs diverged, %u still behind\n",
      acked_at_crash, acked_before_double, load.acked.size(),
      static_cast<unsigned long long>(v.lost), v.diverged, v.behind);
  std::printf(
      "{\"groups\":%u,\"idle_us_per_group_s\":%.2f,\"us_per_entry\":%.2f,"
      "\"lost\":%llu,\"diverged\":%u}\n",
      groups, idle * 1e6 / 10 / groups,
      acked_loaded ? loaded * 1e6 / static_cast<double>(acked_loaded) : 0.0,
      static_cast<unsigned long long>(v.lost), v.diverged);
  return v.lost == 0 && v.diverged == 0 ? 0 : 1;
}
