//! `goro-load`: the command line over the `goro_load` library. It parses arguments, starts a goro
//! runtime, calls `goro_load::run` (or `hlog::merge`), and prints the report.
//!
//! Exit codes: 0 the run finished without a failed request, 1 some requests failed (the report is
//! still printed), 2 bad usage (one line naming the bad input; nothing was sent).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use goro_load::{parse_duration, parse_header, parse_rate, Config, Limit, Rate, Report};

const EXAMPLES: &str = "\
Examples:
  goro-load http://127.0.0.1:8080/                       closed loop, 50 connections, 10 s
  goro-load -c 64 -d 30s -R 20000 http://127.0.0.1:8080/  open loop at 20k req/s
  goro-load --rate 100..5000 --ramp 20s -d 60s http://127.0.0.1:8080/
  goro-load --http2 -c 4 -p 32 -n 100000 http://127.0.0.1:8080/
  goro-load -m POST -H 'Content-Type: application/json' --body '{\"a\":1}' http://h:80/api
  goro-load -R 1000 --hdr-log run-a.hlog --json http://127.0.0.1:8080/ > a.json
  goro-load merge run-a.hlog run-b.hlog                  one report from several machines";

/// An HTTP load generator on goro: closed or open loop, coordinated-omission-corrected
/// latency, HDR histograms that merge across machines.
#[derive(Parser, Debug)]
#[command(name = "goro-load", version, after_help = EXAMPLES)]
struct Cli {
    /// Target URL (http://HOST[:PORT]/PATH).
    url: String,
    /// Connections (one goro task each).
    #[arg(short = 'c', long = "connections", default_value_t = 50)]
    connections: usize,
    /// Run length after the warm-up (500ms, 10s, 2m).
    #[arg(short = 'd', long, value_parser = parse_duration, conflicts_with = "requests")]
    duration: Option<Duration>,
    /// Send exactly this many requests instead of running for a duration.
    #[arg(short = 'n', long)]
    requests: Option<u64>,
    /// Open loop: requests/s over all connections, N or A..B (with --ramp).
    #[arg(short = 'R', long = "rate")]
    rate: Option<String>,
    /// Length of the linear ramp of --rate A..B.
    #[arg(long, value_parser = parse_duration, requires = "rate")]
    ramp: Option<Duration>,
    /// Speak HTTP/2 with prior knowledge (h2c).
    #[arg(long)]
    http2: bool,
    /// Concurrent streams per HTTP/2 connection.
    #[arg(short = 'p', long = "streams", default_value_t = 1, requires = "http2")]
    streams: usize,
    /// Request method.
    #[arg(short = 'm', long, default_value = "GET")]
    method: String,
    /// Extra header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_parser = parse_header)]
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// Request body.
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// Request body read from a file.
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// Per-request timeout (the connection is replaced when it expires).
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    timeout: Duration,
    /// Send for this long before recording.
    #[arg(long, value_parser = parse_duration)]
    warmup: Option<Duration>,
    /// Print the report as one JSON document on stdout.
    #[arg(long)]
    json: bool,
    /// Write an HdrHistogram interval log (1 s intervals) to FILE.
    #[arg(long, value_name = "FILE")]
    hdr_log: Option<PathBuf>,
    /// No live progress on stderr.
    #[arg(long)]
    no_progress: bool,
    /// goro worker threads (default: one per CPU).
    #[arg(short = 'w', long)]
    workers: Option<usize>,
}

/// Merge HdrHistogram interval logs written by `goro-load --hdr-log` into one report.
#[derive(Parser, Debug)]
#[command(name = "goro-load merge")]
struct MergeCli {
    /// Interval logs (one per machine or run).
    #[arg(required = true, value_name = "FILE.hlog")]
    files: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// A usage error: one line, exit code 2.
fn usage(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("goro-load: {msg}");
    ExitCode::from(2)
}

/// Parses with clap; help and version print as usual, any other clap error becomes one line.
fn parse<T: Parser>(args: Vec<String>) -> Result<T, ExitCode> {
    T::try_parse_from(args).map_err(|e| {
        use clap::error::ErrorKind as K;
        match e.kind() {
            K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                ExitCode::SUCCESS
            }
            _ => {
                // clap puts some details on the lines after the first ("the following required
                // arguments were not provided:" then the flags): fold them into one line.
                let text = e.render().to_string();
                let line = text
                    .lines()
                    .map(str::trim)
                    .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
                    .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let line = if line.is_empty() {
                    "invalid arguments".to_string()
                } else {
                    line
                };
                usage(line.trim_start_matches("error: "))
            }
        }
    })
}

fn config(cli: &Cli) -> Result<Config, String> {
    let mut cfg = Config::new(&cli.url).map_err(|e| e.to_string())?;
    cfg.connections = cli.connections;
    cfg.limit = match (cli.duration, cli.requests) {
        (_, Some(n)) => Limit::Requests(n),
        (Some(d), None) => Limit::Duration(d),
        (None, None) => Limit::Duration(Duration::from_secs(10)),
    };
    cfg.rate = match (&cli.rate, cli.ramp) {
        (None, _) => Rate::Closed,
        (Some(r), ramp) => match (parse_rate(r)?, ramp) {
            ((a, b), None) if a == b => Rate::Constant(a),
            ((a, b), None) => return Err(format!("--rate {a}..{b} needs --ramp DURATION")),
            ((a, b), Some(over)) => Rate::Ramp {
                from: a,
                to: b,
                over,
            },
        },
    };
    cfg.http2 = cli.http2;
    cfg.streams = cli.streams;
    cfg.method = cli
        .method
        .parse()
        .map_err(|_| format!("invalid method '{}'", cli.method))?;
    for (k, v) in &cli.headers {
        cfg.headers.append(k.clone(), v.clone());
    }
    if let Some(b) = &cli.body {
        cfg.body = bytes::Bytes::from(b.clone());
    }
    if let Some(f) = &cli.body_file {
        let data = std::fs::read(f).map_err(|e| format!("--body-file {}: {e}", f.display()))?;
        cfg.body = data.into();
    }
    cfg.timeout = cli.timeout;
    cfg.warmup = cli.warmup.unwrap_or_default();
    cfg.hdr_log = cli.hdr_log.clone();
    cfg.progress = !cli.no_progress;
    if cli.workers == Some(0) {
        return Err("--workers must be at least 1".into());
    }
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// Ctrl-C sets the run's stop switch (the run ends at its next check and prints its report); a
/// second Ctrl-C exits at once with status 130. Runs as a goro task for the life of the run.
fn on_ctrl_c(cfg: &Config) {
    let stop = cfg.stop.clone();
    let mut sig = match goro::signal::unix::signal(goro::signal::unix::SignalKind::interrupt()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("goro-load: cannot listen for Ctrl-C ({e}); Ctrl-C will not print a report");
            return;
        }
    };
    drop(goro::spawn(async move {
        if sig.recv().await.is_none() {
            return;
        }
        stop.stop();
        if sig.recv().await.is_some() {
            std::process::exit(130);
        }
    }));
}

fn print(report: &Report, json: bool) {
    if json {
        println!("{}", report.json_string());
    } else {
        print!("{report}");
    }
}

fn exit_for(report: &Report) -> ExitCode {
    if report.tally.errors.total() > 0 || report.tally.requests == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("merge") {
        let mut rest = vec!["goro-load merge".to_string()];
        rest.extend(args.into_iter().skip(2));
        let cli: MergeCli = match parse(rest) {
            Ok(c) => c,
            Err(code) => return code,
        };
        return match goro_load::hlog::merge(&cli.files) {
            Ok(report) => {
                print(&report, cli.json);
                exit_for(&report)
            }
            Err(e) => usage(e),
        };
    }
    let cli: Cli = match parse(args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let cfg = match config(&cli) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let mut builder = goro::runtime::Builder::new_multi_thread();
    if let Some(w) = cli.workers {
        builder.worker_threads(w);
    }
    let rt = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("goro-load: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let run = async move {
        // The listener is made inside the runtime (it registers with goro's reactor) and before
        // the first request goes out.
        on_ctrl_c(&cfg);
        goro_load::run(cfg).await
    };
    match rt.block_on(run) {
        Ok(report) => {
            print(&report, cli.json);
            exit_for(&report)
        }
        Err(goro_load::Error::Config(e)) => usage(e),
        Err(e) => {
            eprintln!("goro-load: {e}");
            ExitCode::from(1)
        }
    }
}
