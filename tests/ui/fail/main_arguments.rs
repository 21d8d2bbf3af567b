#[goro::main]
async fn main(port: u16, host: String) {}
