//! The `server` binary: parses the configuration, sets up logging, and runs a subcommand.

use clap::Parser;

use server::config::{Cli, Command, PollArgs};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or_else(|| {
        let Cli { command } = Cli::parse_from(["server", "serve"]);
        command.unwrap_or_else(|| unreachable!("serve parses"))
    });
    let json_logs = matches!(&command, Command::Serve(args) if args.log_format == server::config::LogFormat::Json);
    server::serve::init_tracing(json_logs);
    let result = match command {
        Command::Serve(args) => server::serve::serve(*args).await,
        Command::Migrate(db) => server::serve::migrate(&db.database_url).await,
        Command::Reproject(db) => server::serve::reproject(&db.database_url).await,
        Command::Poll(args) => poll(args).await,
        Command::Replay(args) => server::serve::replay(args.addr).await,
        Command::Target(cmd) => server::serve::target(cmd).await,
        Command::User(args) => server::auth::cli::run_user(&args.db.database_url, args.action)
            .await
            .map_err(Into::into),
        Command::Token(args) => server::auth::cli::run_token(&args.db.database_url, args.action)
            .await
            .map_err(Into::into),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "exiting");
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn poll(args: PollArgs) -> Result<(), server::serve::ServeError> {
    server::serve::poll_once(&args).await
}
