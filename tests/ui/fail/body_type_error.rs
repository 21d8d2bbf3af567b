// Type errors in the body are reported in the body, against the types the
// user wrote, not at the attribute.
#[goro::main]
async fn main() -> Result<(), String> {
    let n: u32 = "forty-two";
    println!("{n}");
}
