#[goro::main]
fn main() {}
