use clap::Parser;
use unclosed::cli::{Cli, ExitStatus, run};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are not errors.
            let status = if e.use_stderr() {
                ExitStatus::Error
            } else {
                ExitStatus::Clean
            };
            let _ = e.print();
            std::process::exit(status as i32);
        }
    };
    std::process::exit(run(cli) as i32);
}
