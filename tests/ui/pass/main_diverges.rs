#![deny(warnings)]

// A body that never returns must not make the glue around it warn about
// unreachable code.
#[goro::main(worker_threads = 1)]
async fn main() {
    async {}.await;
    std::process::exit(0)
}
