#[goro::main]
pub struct Server {
    port: u16,
}

fn main() {}
