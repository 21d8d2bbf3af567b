#![deny(warnings)]

#[goro::test]
#[should_panic(expected = "boom")]
async fn panics() {
    async {}.await;
    panic!("boom");
}

#[goro::test]
#[ignore = "shows that other attributes compose too"]
async fn ignored() {}

fn main() {}
