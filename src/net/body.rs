//! Reading an HTTP answer's body with a size limit.
//!
//! Every answer from a server we call (Infisical, `bw serve`, a forge) is read through
//! [`read_limited`]: an announced `Content-Length` above the limit is refused before a byte of
//! the body is read, and a body without a length (chunked, or a lying server) is read in chunks
//! and refused as soon as the running total passes the limit. Memory stays bounded by the limit
//! whatever the server sends.

use bytes::{Bytes, BytesMut};

/// The most bytes reserved up front from an announced `Content-Length` (the rest grows as the
/// body arrives, so a server announcing a large length and sending little costs little).
const MAX_PREALLOCATION: u64 = 1024 * 1024;

/// A number of bytes, shown with a binary unit (`64 MiB`, `512 KiB`, `100 bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const KIB: u64 = 1024;
        const MIB: u64 = 1024 * KIB;
        const GIB: u64 = 1024 * MIB;
        let bytes = self.0;
        for (unit, name) in [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
            if bytes >= unit && bytes.is_multiple_of(unit) {
                return write!(f, "{} {name}", bytes / unit);
            }
        }
        write!(f, "{bytes} bytes")
    }
}

/// An answer whose body is larger than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the answer is larger than the limit of {limit}")]
pub(crate) struct TooLarge {
    /// The limit.
    pub limit: ByteSize,
    /// The length the server announced, when it announced one above the limit.
    pub announced: Option<u64>,
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// Larger than the limit.
    #[error(transparent)]
    TooLarge(TooLarge),
    /// The connection failed or timed out while reading.
    #[error("the answer's body could not be read")]
    Transport(#[source] reqwest::Error),
}

/// Reads `response`'s body, refusing more than `limit` bytes (see the module documentation).
///
/// # Errors
/// [`BodyError::TooLarge`] as soon as the body is known to be larger than `limit`;
/// [`BodyError::Transport`] when reading fails.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Bytes, BodyError> {
    let announced = response.content_length();
    if let Some(length) = announced
        && length > limit
    {
        return Err(BodyError::TooLarge(TooLarge {
            limit: ByteSize(limit),
            announced: Some(length),
        }));
    }
    let reserve = announced.unwrap_or(0).min(limit).min(MAX_PREALLOCATION);
    let mut body = BytesMut::with_capacity(usize::try_from(reserve).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if (body.len() as u64).saturating_add(chunk.len() as u64) > limit {
            return Err(BodyError::TooLarge(TooLarge {
                limit: ByteSize(limit),
                announced: None,
            }));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_with_the_largest_exact_unit() {
        assert_eq!(ByteSize(64 * 1024 * 1024).to_string(), "64 MiB");
        assert_eq!(ByteSize(512 * 1024).to_string(), "512 KiB");
        assert_eq!(ByteSize(2 * 1024 * 1024 * 1024).to_string(), "2 GiB");
        assert_eq!(ByteSize(1000).to_string(), "1000 bytes");
        assert_eq!(ByteSize(1536).to_string(), "1536 bytes");
    }
}
