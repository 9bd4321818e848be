//! `just openapi`: prints the platform's merged OpenAPI document, which `docs/openapi.json` holds
//! and the gateway serves. A test fails when the committed file and the code disagree.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    match baton_testkit::openapi::document_json() {
        Ok(text) => match std::io::stdout().write_all(text.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("could not write the document: {err}");
                ExitCode::FAILURE
            }
        },
        Err(err) => {
            eprintln!("could not build the document: {err:#}");
            ExitCode::FAILURE
        }
    }
}
