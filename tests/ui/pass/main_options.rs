#![deny(warnings)]

#[goro::main(flavor = "multi_thread", worker_threads = 2)]
pub async fn main() {
    let words = async { vec!["a", "b"] }.await;
    assert_eq!(words.len(), 2);
}
