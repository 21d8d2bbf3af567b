#![deny(unreachable_code)]

// The expansion silences the unreachable-code lint on its own glue only:
// the user's unreachable code is still reported.
#[goro::main]
async fn main() {
    return;
    println!("never");
}
