//! Draws what coordinated omission hides: a server that freezes 500 ms every 5 s, driven at a
//! constant 400 req/s for 10 s, as goro-load's corrected and uncorrected histograms see it. The
//! plot is the HdrHistogram "percentile distribution" (latency against percentile, the
//! percentile axis stretched towards 99.99 %), written as SVG by hand (no plotting crate).
//!
//!     cargo run --release -p goro-load --example co_plot -- docs/load-co.svg

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::time::Duration;

use goro_load::{Config, Limit, Rate};
use hdrhistogram::Histogram;

const W: f64 = 760.0;
const H: f64 = 440.0;
const L: f64 = 70.0;
const R: f64 = 20.0;
const T: f64 = 40.0;
const B: f64 = 60.0;
/// The percentile axis: x = log10(1 / (1 - p)), from p = 0 to p = 99.99 %.
const X_MAX: f64 = 4.0;

fn curve(h: &Histogram<u64>, y_max: f64) -> String {
    let mut pts = String::new();
    let steps = 400;
    for i in 0..=steps {
        let x = X_MAX * i as f64 / steps as f64;
        let p = 1.0 - 10f64.powf(-x);
        let v = h.value_at_quantile(p) as f64 / 1000.0;
        let px = L + (W - L - R) * x / X_MAX;
        let py = H - B - (H - T - B) * (v / y_max).min(1.0);
        let _ = write!(pts, "{px:.1},{py:.1} ");
    }
    pts
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "load-co.svg".into());
    let rt = support::runtime(2);
    let report = rt.block_on(async {
        let (addr, _) = support::serve(support::Opts {
            freeze: Some((
                Duration::from_secs(5),
                Duration::from_secs(2),
                Duration::from_millis(500),
            )),
            ..Default::default()
        })
        .await;
        let mut c = Config::new(&format!("http://{addr}/")).expect("config");
        c.progress = false;
        c.connections = 8;
        c.rate = Rate::Constant(400.0);
        c.limit = Limit::Duration(Duration::from_secs(10));
        goro_load::run(c).await.expect("run")
    });
    let (cor, unc) = (&report.tally.corrected, &report.tally.uncorrected);
    let y_max = 550.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="15">Server frozen 500 ms every 5 s, 400 req/s for 10 s ({} requests)</text>
"#,
        W / 2.0,
        report.tally.requests
    );
    for ms in [0, 100, 200, 300, 400, 500] {
        let y = H - B - (H - T - B) * ms as f64 / y_max;
        let _ = writeln!(
            s,
            r##"<line x1="{L}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{ms}</text>"##,
            W - R,
            L - 6.0,
            y + 4.0
        );
    }
    for (i, label) in ["0%", "90%", "99%", "99.9%", "99.99%"].iter().enumerate() {
        let x = L + (W - L - R) * i as f64 / X_MAX;
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{T}" y2="{}" stroke="#ddd"/><text x="{x:.1}" y="{}" text-anchor="middle">{label}</text>"##,
            H - B,
            H - B + 18.0
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" text-anchor="middle">percentile</text>
<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">latency (ms)</text>
<polyline fill="none" stroke="#c0392b" stroke-width="2.5" points="{}"/>
<polyline fill="none" stroke="#2471a3" stroke-width="2.5" points="{}"/>
<rect x="{}" y="{}" width="14" height="4" fill="#c0392b"/><text x="{}" y="{}">corrected (from the intended send time): p99 {:.0} ms</text>
<rect x="{}" y="{}" width="14" height="4" fill="#2471a3"/><text x="{}" y="{}">uncorrected (from the actual send): p99 {:.1} ms</text>
</svg>"##,
        (L + W - R) / 2.0,
        H - 18.0,
        (T + H - B) / 2.0,
        (T + H - B) / 2.0,
        curve(cor, y_max),
        curve(unc, y_max),
        L + 20.0,
        T + 14.0,
        L + 40.0,
        T + 19.0,
        cor.value_at_quantile(0.99) as f64 / 1000.0,
        L + 20.0,
        T + 34.0,
        L + 40.0,
        T + 39.0,
        unc.value_at_quantile(0.99) as f64 / 1000.0,
    );
    std::fs::write(&out, s).expect("write the SVG");
    println!(
        "{out}: corrected p99 {} us, uncorrected p99 {} us",
        cor.value_at_quantile(0.99),
        unc.value_at_quantile(0.99)
    );
}
