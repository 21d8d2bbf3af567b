//! The example from README.md, kept compiling and running.

use goro::chan;

#[goro::main]
async fn main() {
    let (tx, rx) = chan::bounded::<u64>(0); // unbuffered: a rendezvous, as in Go
    for id in 0..10 {
        let tx = tx.clone();
        goro::spawn(async move { tx.send(id * id).await.unwrap() });
    }
    drop(tx);
    let mut sum = 0;
    while let Some(v) = rx.recv().await {
        sum += v;
    }
    println!("sum of squares: {sum}");
}
