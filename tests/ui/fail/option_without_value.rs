#[goro::main(flavor)]
async fn main() {}
