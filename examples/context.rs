//! A goroutine-style tree of work under one deadline: a crawler fans out
//! workers over a job channel; the whole tree stops when the deadline
//! passes, and every worker says why it stopped.
//!
//! Run: `cargo run --example context`

use goro::context::{self, Context};
use goro::select;
use goro::sync::ErrGroup;
use goro::time::{after, Duration};

async fn worker(id: usize, ctx: Context, jobs: goro::chan::Receiver<u32>) -> Result<(), String> {
    let mut done = 0;
    loop {
        select! {
            recv(jobs) -> job => match job {
                Some(n) => {
                    // Each job takes n milliseconds, unless the context ends first.
                    let work = after(Duration::from_millis(n.into()));
                    select! {
                        recv(work) -> _ => done += 1,
                        recv(ctx.done_chan()) -> _ => {}
                    }
                }
                None => break,
            },
            recv(ctx.done_chan()) -> _ => break,
        }
    }
    println!("worker {id}: {done} jobs, stopped: {:?}", ctx.err());
    Ok(())
}

#[goro::main]
async fn main() {
    let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(200));
    let mut group = ErrGroup::with_context(&ctx);
    let (tx, rx) = goro::chan::bounded::<u32>(4);
    for id in 0..4 {
        group.spawn(worker(id, group.context().clone(), rx.clone()));
    }
    drop(rx);
    let producer_ctx = ctx.clone();
    goro::spawn(async move {
        for n in 0.. {
            select! {
                send(tx, 10 + n % 20) -> res => if res.is_err() { return },
                _ = producer_ctx.done() => return,
            }
        }
    });
    group.wait().await.unwrap();
    println!("tree done: {:?}", ctx.err());
}
