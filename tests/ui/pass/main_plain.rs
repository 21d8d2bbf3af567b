#![deny(warnings)]

async fn double(x: u32) -> u32 {
    x * 2
}

#[goro::main]
async fn main() {
    let answer = double(21).await;
    assert_eq!(answer, 42);
}
