//! `ileaps`: the programme's command line.
//!
//! `run` starts every service in one process, `demo` does that and plays a
//! feed of the seed cities' enquiries; the rest are tools for operators
//! (`admin`, `dlq`, `outbox`), cities (`submit`) and integrators (`tail`).

mod bench;
mod demo;
mod dev;
mod events;
mod feed;
mod operator;
mod programme;
mod services;
mod submit;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "ileaps", version, about = "City I-Leaps operations backend")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every service in this process, with one /healthz, /readyz and
    /// /metrics on ILEAPS_HTTP_ADDR. Starts private NATS and Postgres when
    /// none answer at ILEAPS_NATS_URL and ILEAPS_DATABASE_URL. On a new
    /// database, import the cities, the experts and every country's public
    /// holidays once (`admin cities|experts|holidays import`, see
    /// docs/operations.md, "Operator data"): without holidays, sessions may
    /// fall on them.
    Run,
    /// `run`, plus the seed's cities and a realistic feed of their enquiries,
    /// shown as they are handled, with a summary at the end.
    Demo {
        /// Keep the services running after the summary, until Ctrl-C.
        #[arg(long)]
        keep_running: bool,
    },
    /// Operator commands (sent to the services over NATS).
    Admin {
        #[command(subcommand)]
        command: operator::AdminCommand,
    },
    /// Dead letters: messages a service could never handle.
    Dlq {
        #[command(subcommand)]
        command: operator::DlqCommand,
    },
    /// The transactional outbox.
    Outbox {
        #[command(subcommand)]
        command: operator::OutboxCommand,
    },
    /// Publish an enquiry (or, with --withdraw, a withdrawal) as a city would.
    Submit {
        /// The city's code, e.g. makassar.
        #[arg(long)]
        city: String,
        /// A JSON file with the body (see docs/integrators.md).
        file: PathBuf,
        /// Send `ileaps.enquiry.withdraw.v1` instead of a submission.
        #[arg(long)]
        withdraw: bool,
        /// Seconds to wait for the outcome event (0: don't wait).
        #[arg(long, default_value_t = 10)]
        wait: u64,
    },
    /// Measure the intake hop against ceilings of this machine (build with
    /// --release); writes target/ileaps-bench/<time>.json. `bench planning`
    /// measures the plan instead.
    #[command(args_conflicts_with_subcommands = true)]
    Bench {
        #[command(subcommand)]
        mode: Option<bench::Mode>,
        #[command(flatten)]
        intake_hop: bench::BenchArgs,
    },
    /// For developers of ileaps.
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
    /// Follow the programme's events, readable.
    Tail {
        /// A subject filter.
        #[arg(default_value = "ileaps.events.>")]
        subject: String,
        /// Start from the beginning of the stream instead of now.
        #[arg(long)]
        from_start: bool,
    },
}

#[derive(Subcommand)]
enum DevCommand {
    /// Run the whole test suite, after checking or starting what it needs
    /// (nats-server, Postgres). Extra arguments go to the test runner.
    Test {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run => services::run().await,
        Command::Demo { keep_running } => demo::run(keep_running).await,
        Command::Admin { command } => operator::admin(command).await,
        Command::Dlq { command } => operator::dlq(command).await,
        Command::Outbox { command } => operator::outbox(command).await,
        Command::Submit {
            city,
            file,
            withdraw,
            wait,
        } => {
            let js = operator::connect().await?.1;
            submit::run(&js, &city, &file, withdraw, Duration::from_secs(wait)).await
        }
        Command::Bench {
            mode: Some(bench::Mode::Planning(args)),
            ..
        } => bench::planning::run(args).await,
        Command::Bench {
            mode: None,
            intake_hop,
        } => bench::run(intake_hop).await,
        Command::Dev {
            command: DevCommand::Test { args },
        } => dev::test(args).await,
        Command::Tail {
            subject,
            from_start,
        } => {
            let js = operator::connect().await?.1;
            events::tail(&js, &subject, from_start).await
        }
    }
}
