use std::process::ExitCode;

use gossip_sim::cli;

fn main() -> ExitCode {
    let cli = match cli::parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli::run(cli) {
        Ok(code) => code,
        Err(err) if cli::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", cli::one_line(&format!("{err:#}")));
            cli::exit_code(&err)
        }
    }
}
