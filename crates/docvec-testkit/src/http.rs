//! Talking to a running `docvec serve` the way the CLI's and the server's tests both do: one request
//! sent and its answer read, and the multipart forms the upload route takes.

use std::path::Path;

use reqwest::RequestBuilder;
use reqwest::multipart::{Form, Part};

/// Sends `req` and reads the answer as JSON, whatever its status; panics where it cannot be sent or
/// the answer is not JSON.
pub async fn json_answer(req: RequestBuilder) -> serde_json::Value {
    req.send().await.unwrap().json().await.unwrap()
}

/// Sends `req` and reads the answer as text, whatever its status.
pub async fn text_answer(req: RequestBuilder) -> String {
    req.send().await.unwrap().text().await.unwrap()
}

/// An upload of one file, `name` holding `bytes`, as the `file` part `POST /documents` reads.
pub fn upload_form(name: &str, bytes: Vec<u8>) -> Form {
    Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()))
}

/// `form` with each of `files` read from disk added as a `file` part under its own file name.
pub fn with_files(form: Form, files: &[impl AsRef<Path>]) -> Form {
    files.iter().fold(form, |form, f| {
        let f = f.as_ref();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        form.part(
            "file",
            Part::bytes(std::fs::read(f).unwrap()).file_name(name),
        )
    })
}
