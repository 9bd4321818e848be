//! Reading an answer from outside with a cap on its size: the one place orders reads a body
//! it did not write, for the supplier's prices and a webhook's answer alike.

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is larger than allowed")]
    TooLarge,
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
}

/// Reads at most `cap` bytes of `response`, refusing (without reading on) one that announces or
/// sends more. A slow drip is bounded by the client's timeout, which covers the body too.
pub async fn read_capped(
    response: &mut reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|length| length > cap as u64)
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
