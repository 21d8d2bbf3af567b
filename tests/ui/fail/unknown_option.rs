#[goro::main(flavor = "multi_thread", workers = 4)]
async fn main() {}
