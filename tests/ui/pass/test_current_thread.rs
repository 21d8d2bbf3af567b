#![deny(warnings)]

#[goro::test]
async fn default_flavor() {
    assert_eq!(async { 1 + 1 }.await, 2);
}

#[goro::test(flavor = "current_thread")]
async fn explicit_flavor() -> Result<(), std::num::ParseIntError> {
    let n: i32 = "7".parse()?;
    assert_eq!(n, 7);
    Ok(())
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread() {}

fn main() {}
