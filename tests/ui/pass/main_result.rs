#![deny(warnings)]

// `?` needs to know the body's error type: the expansion gives it the
// declared return type.
#[goro::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = async { "42" }.await.parse()?;
    assert_eq!(n, 42);
    if n != 42 {
        return Err("not the answer".into());
    }
    Ok(())
}
