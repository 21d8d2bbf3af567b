const WORKERS: usize = 4;

#[goro::main(worker_threads = WORKERS)]
async fn main() {
    let _ = WORKERS;
}
