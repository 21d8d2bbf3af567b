// Every mistake is reported in one compile, each at its cause.
#[goro::main(flavor = "fast", threads = 2)]
fn main(args: Vec<String>) {}
