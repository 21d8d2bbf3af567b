#![deny(warnings)]

// Attributes after `#[goro::main]` stay on the function.
#[goro::main(flavor = "current_thread")]
#[allow(clippy::needless_return)]
async fn main() {
    let caller = std::thread::current().id();
    let inside = async { std::thread::current().id() }.await;
    assert_eq!(caller, inside);
    return;
}
