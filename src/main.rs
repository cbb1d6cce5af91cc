use std::process::ExitCode;

fn main() -> ExitCode {
    // Inside the frontend image BuildKit runs the entrypoint with its
    // variables set and no verb: act as the frontend then.
    if scratchc::frontend::wanted_without_args() {
        return scratchc::frontend::main();
    }
    scratchc::cli::run()
}
