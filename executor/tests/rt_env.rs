//! GORO_WORKER_THREADS (its own test binary: it sets a process-wide
//! environment variable).

use goro_executor::runtime::Builder;

#[test]
fn env_overrides_default_worker_count_but_not_explicit() {
    std::env::set_var("GORO_WORKER_THREADS", "3");
    let rt = Builder::new_multi_thread().build().unwrap();
    assert_eq!(rt.handle().num_workers(), 3);
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    assert_eq!(rt.handle().num_workers(), 2);

    std::env::set_var("GORO_WORKER_THREADS", "lots");
    let e = Builder::new_multi_thread().build().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("GORO_WORKER_THREADS"), "{e}");

    std::env::set_var("GORO_WORKER_THREADS", "0");
    let e = Builder::new_multi_thread().build().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    std::env::remove_var("GORO_WORKER_THREADS");
}
