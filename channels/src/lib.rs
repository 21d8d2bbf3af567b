//! # goro-channels
//!
//! Go's channels and an exact `select!`, for async code on any executor
//! and for plain threads. (The async `Mutex`, `Semaphore`, `WaitGroup` and
//! the rest live in their own crate, `goro-sync`.)
//!
//! ## What Go promises, and what that asks of a Rust channel
//!
//! A Go channel is a FIFO with a capacity; capacity 0 is a *rendezvous*: a
//! send completes only once a receiver has the value. `close` lets
//! receivers drain what is buffered and then report "closed"; every waiting
//! or later send fails. `select` waits on several operations and performs
//! **exactly one**, chosen uniformly at random among those ready.
//!
//! Go gets much of this for free from goroutines: a blocked goroutine's
//! `sudog` sits in the channel's queue until someone completes it, and a
//! goroutine cannot be cancelled. A Rust future can be dropped at any
//! `Pending`. So goro adds one rule Go never needed: **cancellation never
//! loses or duplicates a value.** A dropped `send` did not send (its value
//! drops with it, or a receiver took it before the drop — then it *was*
//! sent); a dropped `recv` took nothing (a value handed to it goes back to
//! the front of the channel or straight to another parked receiver).
//!
//! ## Shape (`chan/`)
//!
//! * `hchan.rs` — `Chan<T>`: one short lock over a ring buffer and two queues
//!   of parked operations, in the shape of Go's `hchan` (its "Invariants"
//!   section is the contract). Values go straight to a parked receiver
//!   (Go's `sendDirect`); a receive from a full buffer pulls the oldest
//!   parked sender's value in behind it (Go's `recv`).
//! * `waiter.rs` — the records parked operations leave in those queues and
//!   the "Commit protocol": one CAS on a per-operation word decides which
//!   single operation of a select takes effect.
//! * `select.rs` — `select!`'s future: a try phase in random order, then a
//!   register phase that aborts and retries if it finds a channel ready
//!   ("Choosing exactly one arm").
//! * `ops.rs` — a parked plain `send`/`recv`: a one-arm select specialised
//!   so that it locks the channel once and either completes or parks.
//! * `handles.rs` — `Sender`/`Receiver`, their futures, `Stream`/`Sink`,
//!   blocking calls. A `send`/`recv` future is three words until it has to
//!   park; only then is its op (context and waiter) built in place. Moving
//!   a large freshly-initialised future into a task's state costs
//!   store-forwarding stalls on every operation, which dominate an
//!   uncontended send/recv pair (docs/benchmarks.md has the figures).
//! * `lock.rs` — why the channel lock spins instead of sleeping.
//! * `block_on.rs` — a thread `block_on` behind the blocking calls and
//!   `select_blocking!`.
//!
//! The first attempt of a `send`/`recv` (lock, buffer push or pop, unlock)
//! is inlined into the caller and everything else is out of line, and a
//! select reads a per-channel readiness hint before it locks anything
//! ("Readiness hint" in `hchan.rs`).
//!
//! ## Rejected designs
//!
//! * *Lock every channel of a select in address order* (Go's `selectgo`).
//!   It gives a consistent snapshot, but a task holding N locks while
//!   enqueuing blocks every other user of N channels, and Go needs it partly
//!   because its `sudog`s are per goroutine. With a per-select commit word
//!   (crossbeam-channel's `Context::selected`, Go's `selectDone`) one lock
//!   at a time suffices, as long as an operation that is itself registered
//!   never commits anyone (it aborts and retries instead) — so no commit
//!   ever needs two CASes to succeed together.
//! * *Heap-allocated waiters* (an `Arc` per parked operation). Simple, but
//!   an allocation per wait is most of a ping-pong round trip. Waiters live
//!   in the pinned future instead, and the future's `Drop` unqueues them
//!   under the lock before the memory goes.
//! * *A lock-free buffer for buffered channels* (Vyukov's bounded MPMC
//!   array, as crossbeam's array flavour and `concurrent-queue` use it, with
//!   the lock kept for parked waiters). On a 2-core machine it is slower
//!   than the lock on every buffered workload (docs/channels.md). With
//!   the lock, a core that finds it taken backs off for microseconds while
//!   the holder runs many operations with every line it needs in its own
//!   cache; with the ring both cores work on the same slots at once, and
//!   each push and pop misses on the slot, the index CAS and the "anyone
//!   parked?" flag. It also turns a commit of a buffered waiter into a mere
//!   wake-up (a ring cannot take a value back at its head), so a woken
//!   receiver must retry and pass unused wake-ups on. Worth revisiting only
//!   with more cores than tasks; see docs/channels.md.
//!
//! ## Coop budget
//!
//! Every channel operation that completes in a poll spends one unit of the
//! task's budget through [`goro_coop::poll_proceed`]; an operation that
//! parks refunds it. Under goro's executor a task draining an always-ready
//! channel therefore yields after 128 operations; on any other executor or
//! thread the budget is unconstrained and this costs a thread-local read.

/// Loom's synchronisation types under `--cfg loom`, std's otherwise.
use goro_loom as loom;

pub mod chan;
