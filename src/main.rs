use std::process::ExitCode;

fn main() -> ExitCode {
    gossip_sim::cli::main()
}
